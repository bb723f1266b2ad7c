package kubernetes

import (
	"strings"
	"testing"
)

func TestParseUpstream(t *testing.T) {
	tests := map[string]struct {
		in, defaultNS string
		want          Upstream
	}{
		"namespace given":   {"greetserver.default:50051", "other", Upstream{"greetserver", "default", "50051"}},
		"default namespace": {"greetserver:50051", "team-a", Upstream{"greetserver", "team-a", "50051"}},
		"named port":        {"greetserver.default:grpc", "", Upstream{"greetserver", "default", "grpc"}},
		"highest port":      {"s.ns:65535", "", Upstream{"s", "ns", "65535"}},
	}
	for name, tc := range tests {
		got, err := ParseUpstream(tc.in, tc.defaultNS)
		if err != nil || got != tc.want {
			t.Errorf("%s: ParseUpstream(%q, %q) = %+v, %v; want %+v", name, tc.in, tc.defaultNS, got, err, tc.want)
		}
	}
}

func TestParseUpstreamErrorsNameThePart(t *testing.T) {
	tests := map[string]struct {
		in, defaultNS, want string
	}{
		"no port":           {"greetserver.default", "", "want service[.namespace]:port"},
		"empty port":        {"greetserver.default:", "", "port is empty"},
		"port zero":         {"greetserver.default:0", "", "port 0: must be from 1 to 65535"},
		"port too large":    {"greetserver.default:70000", "", "port 70000: must be from 1 to 65535"},
		"bad port name":     {"greetserver.default:grpc_port", "", `port name "grpc_port"`},
		"long port name":    {"greetserver.default:abcdefghijklmnop", "", `port name "abcdefghijklmnop"`},
		"bad service":       {"Greet_Server.default:50051", "", `service "Greet_Server"`},
		"empty service":     {".default:50051", "", `service ""`},
		"bad namespace":     {"greetserver.De_fault:50051", "", `namespace "De_fault"`},
		"svc suffix":        {"greetserver.default.svc:50051", "", `namespace "default.svc"`},
		"no namespace":      {"greetserver:50051", "", "no namespace"},
		"default namespace": {"greetserver:50051", "Bad", `namespace "Bad"`},
	}
	for name, tc := range tests {
		_, err := ParseUpstream(tc.in, tc.defaultNS)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("%s: ParseUpstream(%q) error = %v; want it to name %q and contain %q", name, tc.in, err, tc.in, tc.want)
		}
	}
}

func TestUpstreamString(t *testing.T) {
	if got := (Upstream{"greetserver", "default", "grpc"}).String(); got != "greetserver.default:grpc" {
		t.Errorf("String = %q, want greetserver.default:grpc", got)
	}
}
