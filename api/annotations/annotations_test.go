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
	if len(seen) != 16 {
		t.Errorf("PodAnnotations has %d names, want 16", len(seen))
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
		{"subset size", ValidSubsetSize, "20", ""},
		{"subset size every endpoint", ValidSubsetSize, "0", ""},
		{"subset size negative", ValidSubsetSize, "-1",
			`annotation roundabout.dev/subset-size="-1": want a whole number from 0 to 100000; 0 means every endpoint`},
		{"subset size word", ValidSubsetSize, "ten",
			`annotation roundabout.dev/subset-size="ten": want a whole number from 0 to 100000; 0 means every endpoint`},
		{"subset size too big", ValidSubsetSize, "100001",
			`annotation roundabout.dev/subset-size="100001": want a whole number from 0 to 100000; 0 means every endpoint`},
		{"subset id", ValidSubsetID, "3/10", ""},
		{"subset id alone", ValidSubsetID, "0/1", ""},
		{"subset id no slash", ValidSubsetID, "3", `annotation roundabout.dev/subset-id="3": want i/C, client i of C, such as 3/10`},
		{"subset id sign", ValidSubsetID, "+1/3", `annotation roundabout.dev/subset-id="+1/3": want i/C, client i of C, such as 3/10`},
		{"subset id no clients", ValidSubsetID, "0/0", `annotation roundabout.dev/subset-id="0/0": C, the number of clients, must be at least 1`},
		{"subset id past the end", ValidSubsetID, "10/10", `annotation roundabout.dev/subset-id="10/10": i must be from 0 to C-1 (9)`},
		{"subset id negative", ValidSubsetID, "-1/10", `annotation roundabout.dev/subset-id="-1/10": i must be from 0 to C-1 (9)`},
		{"subset peers", ValidSubsetPeers, "gateway-peers", ""},
		{"subset peers upper case", ValidSubsetPeers, "Gateway",
			`annotation roundabout.dev/subset-peers="Gateway": not a Service name; want a DNS-1035 label (a-z, 0-9 and '-', starting with a letter, ending with a letter or digit, at most 63 characters) naming a Service in the pod's namespace`},
		{"subset peers namespaced", ValidSubsetPeers, "gateway.other",
			`annotation roundabout.dev/subset-peers="gateway.other": not a Service name; want a DNS-1035 label (a-z, 0-9 and '-', starting with a letter, ending with a letter or digit, at most 63 characters) naming a Service in the pod's namespace`},
		{"subset peers empty", ValidSubsetPeers, "",
			`annotation roundabout.dev/subset-peers="": not a Service name; want a DNS-1035 label (a-z, 0-9 and '-', starting with a letter, ending with a letter or digit, at most 63 characters) naming a Service in the pod's namespace`},
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

func TestParseSubset(t *testing.T) {
	if n, err := ParseSubsetSize("0"); n != 0 || err != nil {
		t.Fatalf("ParseSubsetSize(0) = %d, %v", n, err)
	}
	if i, c, err := ParseSubsetID("9/10"); i != 9 || c != 10 || err != nil {
		t.Fatalf("ParseSubsetID(9/10) = %d, %d, %v", i, c, err)
	}
	if DefaultSubsetSize < 1 || DefaultSubsetSize > MaxSubsetSize {
		t.Fatalf("DefaultSubsetSize %d is not a subset size", DefaultSubsetSize)
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
