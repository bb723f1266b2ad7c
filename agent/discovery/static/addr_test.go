package static

import (
	"slices"
	"strings"
	"testing"
)

func TestParseAddrAccepts(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1:50051", "10.0.0.1:50051"},
		{"[::1]:80", "[::1]:80"},
		{"[2001:DB8:0:0::1]:443", "[2001:db8::1]:443"},
		{"[fe80::1%eth0]:80", "[fe80::1%eth0]:80"},
		{"greet-server:50051", "greet-server:50051"},
		{"Greet.Default.svc.cluster.local.:1", "greet.default.svc.cluster.local.:1"},
		{"localhost:65535", "localhost:65535"},
		{"a:0080", "a:80"},
		{"1host:1", "1host:1"},
	}
	for _, tt := range tests {
		got, err := ParseAddr(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAddrRejects(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "missing port"},
		{"10.0.0.1", "missing port"},
		{"10.0.0.1:", "missing port"},
		{":80", "missing host"},
		{"::1:80", "too many colons"},
		{"10.0.0.1:0", "not a number from 1 to 65535"},
		{"10.0.0.1:65536", "not a number from 1 to 65535"},
		{"10.0.0.1:http", "not a number from 1 to 65535"},
		{"10.0.0.1:+80", "not a number from 1 to 65535"},
		{"10.0.0.256:80", "neither an IP address nor a valid DNS name"},
		{"010.0.0.1:80", "neither an IP address nor a valid DNS name"},
		{"-bad.example:80", "neither an IP address nor a valid DNS name"},
		{"bad-.example:80", "neither an IP address nor a valid DNS name"},
		{"under_score:80", "neither an IP address nor a valid DNS name"},
		{"a..b:80", "neither an IP address nor a valid DNS name"},
		{strings.Repeat("a", 64) + ":80", "neither an IP address nor a valid DNS name"},
		{"http://a:80", "too many colons"},
	}
	for _, tt := range tests {
		_, err := ParseAddr(tt.in)
		if err == nil {
			t.Errorf("ParseAddr(%q) succeeded, want an error", tt.in)
			continue
		}
		for _, want := range []string{`"` + tt.in + `"`, tt.reason} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseAddr(%q) error %q does not contain %q", tt.in, err, want)
			}
		}
	}
}

func TestParseAddrsDedupesAndSorts(t *testing.T) {
	got, err := ParseAddrs([]string{"b:2", "a:1", "B:2", "[::1]:1", "a:01"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[::1]:1", "a:1", "b:2"}
	if !slices.Equal(got, want) {
		t.Fatalf("ParseAddrs = %q, want %q", got, want)
	}
}

func TestParseAddrsNamesBadEntry(t *testing.T) {
	_, err := ParseAddrs([]string{"a:1", "b", "c:3"})
	if err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("ParseAddrs error = %v, want one naming \"b\"", err)
	}
}
