package annotations

import (
	"errors"
	"go/build"
	"slices"
	"strings"
	"testing"
)

func TestNamesCarryThePrefix(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range PodAnnotations() {
		if !strings.HasPrefix(name, Prefix) || len(name) == len(Prefix) {
			t.Errorf("annotation %q does not start with %q and a name", name, Prefix)
		}
		if seen[name] {
			t.Errorf("PodAnnotations lists %q twice", name)
		}
		seen[name] = true
	}
	if len(seen) != 13 {
		t.Errorf("PodAnnotations has %d names, want 13", len(seen))
	}
}

func TestStrategies(t *testing.T) {
	got := Strategies()
	want := []string{"least-request", "peak-ewma", "random", "ring-hash", "round-robin"}
	if !slices.Equal(got, want) {
		t.Fatalf("Strategies() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Strategies()[0] != want[0] {
		t.Fatal("changing the slice Strategies returned changed the contract")
	}
	for _, s := range want {
		if err := ValidStrategy(s); err != nil {
			t.Errorf("ValidStrategy(%q) = %v", s, err)
		}
	}
	if !slices.Contains(want, DefaultStrategy) {
		t.Fatalf("DefaultStrategy %q is not a strategy", DefaultStrategy)
	}
}

func TestLogLevels(t *testing.T) {
	if got, want := LogLevels(), []string{"debug", "info", "warn", "error"}; !slices.Equal(got, want) {
		t.Fatalf("LogLevels() = %v, want %v", got, want)
	}
	if !slices.Contains(LogLevels(), DefaultLogLevel) {
		t.Fatalf("DefaultLogLevel %q is not a log level", DefaultLogLevel)
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		value string
		want  string // the error's message; empty when value is allowed
	}{
		{"inject enabled", ValidInject, "enabled", ""},
		{"inject disabled", ValidInject, "disabled", ""},
		{"inject other", ValidInject, "true", `annotation roundabout.dev/inject="true": allowed values are "enabled" and "disabled"`},
		{"inject case", ValidInject, "Enabled", `annotation roundabout.dev/inject="Enabled": allowed values are "enabled" and "disabled"`},
		{"unknown strategy", ValidStrategy, "fastest",
			`annotation roundabout.dev/strategy="fastest": not a strategy; allowed: least-request, peak-ewma, random, ring-hash, round-robin`},
		{"empty strategy", ValidStrategy, "", `annotation roundabout.dev/strategy="": not a strategy; allowed: least-request, peak-ewma, random, ring-hash, round-robin`},
		{"log level", ValidLogLevel, "warn", ""},
		{"unknown log level", ValidLogLevel, "verbose", `annotation roundabout.dev/log-level="verbose": allowed: debug, info, warn, error`},
		{"hash header", ValidHashHeader, "x-user_id.v2", ""},
		{"hash header upper case", ValidHashHeader, "X-User-ID", ""},
		{"hash header space", ValidHashHeader, "x user",
			`annotation roundabout.dev/hash-header="x user": not a header name; allowed characters are a-z, A-Z (lower-cased), 0-9, '-', '_' and '.', such as x-user-id`},
		{"hash header pseudo", ValidHashHeader, ":authority",
			`annotation roundabout.dev/hash-header=":authority": not a header name; allowed characters are a-z, A-Z (lower-cased), 0-9, '-', '_' and '.', such as x-user-id`},
		{"hash header empty", ValidHashHeader, "",
			`annotation roundabout.dev/hash-header="": empty; allowed characters are a-z, A-Z (lower-cased), 0-9, '-', '_' and '.', such as x-user-id`},
		{"hash header non-ASCII", ValidHashHeader, "x-\u212a", // the Kelvin sign, lower-cased to k
			"annotation roundabout.dev/hash-header=\"x-\u212a\": not a header name; allowed characters are a-z, A-Z (lower-cased), 0-9, '-', '_' and '.', such as x-user-id"},
		{"native sidecar true", ValidNativeSidecar, "true", ""},
		{"native sidecar false", ValidNativeSidecar, "false", ""},
		{"native sidecar other", ValidNativeSidecar, "yes", `annotation roundabout.dev/native-sidecar="yes": allowed values are "true" and "false"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.value)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("%q: %v, want no error", tt.value, err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("%q: error %v, want %s", tt.value, err, tt.want)
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Value != tt.value || !strings.HasPrefix(ae.Key, Prefix) || ae.Problem == "" {
				t.Fatalf("%q: error %#v, want an *Error naming the annotation, the value and the problem", tt.value, err)
			}
		})
	}
}

// TestStandardLibraryOnly keeps the contract free of dependencies, so that
// whatever imports it links nothing of the agent or the webhook.
func TestStandardLibraryOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range pkg.Imports {
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			t.Errorf("imports %s; the contract imports only the standard library", path)
		}
	}
}
