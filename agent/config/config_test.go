package config

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
	"github.com/roundabout-dev/roundabout/agent/subset"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// strategies are the names the agent passes to Parse: the registered ones.
var strategies = balancer.Names()

func parse(args ...string) (*Config, string, error) {
	var out bytes.Buffer
	c, err := ParseTo(&out, args, strategies)
	return c, out.String(), err
}

func TestDefaults(t *testing.T) {
	c, _, err := parse("--upstream", "greet", "--endpoints", "10.0.0.2:50051, 10.0.0.1:50051")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Upstreams:            []Upstream{{Name: "greet", Listen: "127.0.0.1:50051"}},
		Endpoints:            []string{"10.0.0.1:50051", "10.0.0.2:50051"},
		Strategy:             "round-robin",
		AdminAddr:            "127.0.0.1:9901",
		DrainTimeout:         30 * time.Second,
		LogLevel:             "info",
		MaxConcurrentStreams: 100,
		MaxHeaderListSize:    64 << 10,
		StreamWindow:         128 << 10,
		ProbeAfter:           500 * time.Millisecond,
		ProbeTimeout:         time.Second,
		KeepaliveTime:        20 * time.Second,
		KeepaliveTimeout:     10 * time.Second,
		EjectFailures:        5,
		EjectBackoff:         5 * time.Second,
		MaxEjectionPercent:   50,
		SubsetSize:           100,
	}
	checkConfig(t, c, want)
}

func TestEveryFlag(t *testing.T) {
	c, _, err := parse(
		"--upstream=greet", "--listen=127.0.0.1:6000", "--endpoints-file=/etc/roundabout/endpoints",
		"--strategy=ring-hash", "--hash-header=X-User-ID", "--admin-addr=:9000",
		"--drain-timeout=1m", "--log-level=debug", "--keepalive-time=30s", "--keepalive-timeout=5s",
		"--probe-after=250ms", "--probe-timeout=2s",
		"--max-concurrent-streams=50", "--max-header-list-size=8192", "--stream-window=65536",
		"--eject-failures=3", "--eject-backoff=10s", "--max-ejection-percent=100",
		"--kubeconfig=/k", "--annotations-file=/etc/podinfo/annotations", "--lookaside-addr=127.0.0.1:9902",
		"--subset-size=10", "--subset-id=3/10",
	)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Upstreams:            []Upstream{{Name: "greet", Listen: "127.0.0.1:6000"}},
		EndpointsFile:        "/etc/roundabout/endpoints",
		Kubeconfig:           "/k",
		AnnotationsFile:      "/etc/podinfo/annotations",
		LookasideAddr:        "127.0.0.1:9902",
		Strategy:             "ring-hash",
		HashHeader:           "x-user-id",
		AdminAddr:            ":9000",
		DrainTimeout:         time.Minute,
		LogLevel:             "debug",
		MaxConcurrentStreams: 50,
		MaxHeaderListSize:    8192,
		StreamWindow:         65536,
		ProbeAfter:           250 * time.Millisecond,
		ProbeTimeout:         2 * time.Second,
		KeepaliveTime:        30 * time.Second,
		KeepaliveTimeout:     5 * time.Second,
		EjectFailures:        3,
		EjectBackoff:         10 * time.Second,
		MaxEjectionPercent:   100,
		SubsetSize:           10,
		SubsetID:             subset.Of(3, 10),
	}
	checkConfig(t, c, want)
}

func TestSubsetPeers(t *testing.T) {
	c, _, err := parse("--upstream=greetserver:50051", "--subset-peers=gateway", "--subset-size=0")
	if err != nil {
		t.Fatal(err)
	}
	if c.SubsetPeers != "gateway" || c.SubsetSize != 0 || c.SubsetID.Exact() {
		t.Fatalf("config %+v", c)
	}
}

func checkConfig(t *testing.T, got *Config, want Config) {
	t.Helper()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("config = %+v\nwant     %+v", *got, want)
	}
}

func TestErrors(t *testing.T) {
	base := []string{"--upstream=greet", "--endpoints=10.0.0.1:80"}
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"no upstream", []string{"--endpoints=a:1"}, []string{"--upstream is required"}},
		{"blank upstream", []string{"--upstream= ", "--endpoints=a:1"}, []string{"--upstream: empty name"}},
		{"two static upstreams", []string{"--upstream=a", "--upstream=b", "--endpoints=a:1", "--listen=:1", "--listen=:2"}, []string{"exactly one --upstream"}},
		{"listen without upstream", append(base, "--listen=:1", "--listen=:2"), []string{`--listen=":2" has no --upstream`}},
		{"no listen for a named port", []string{"--upstream=a:grpc", "--upstream=b:grpc"}, []string{`--upstream="a:grpc": no listen address`}},
		{"two upstreams on one address", []string{"--upstream=a:80", "--upstream=b:80"}, []string{`listens on 127.0.0.1:80, already used by --upstream=a:80`}},
		{"bad lookaside addr", append(base, "--lookaside-addr=x"), []string{`--lookaside-addr="x"`}},
		{"lookaside on the admin address", append(base, "--admin-addr=127.0.0.1:9901", "--lookaside-addr=127.0.0.1:9901"), []string{"--lookaside-addr=127.0.0.1:9901 is also --admin-addr"}},
		{"both endpoint sources", append(base, "--endpoints-file=/f"), []string{"--endpoints and --endpoints-file are both set"}},
		{"empty endpoints", []string{"--upstream=greet", "--endpoints= , "}, []string{`--endpoints=" , "`, "no endpoint listed"}},
		{"bad endpoint", []string{"--upstream=greet", "--endpoints=a:1,b"}, []string{`--endpoints="a:1,b"`, `endpoint "b"`, "missing port", "port 1-65535"}},
		{"bad endpoint port", []string{"--upstream=greet", "--endpoints=a:70000"}, []string{`endpoint "a:70000"`, "1 to 65535"}},
		{"empty endpoints file", []string{"--upstream=greet", "--endpoints-file="}, []string{`--endpoints-file=""`}},
		{"bad listen", append(base, "--listen=localhost"), []string{`--listen="localhost"`, "missing port", "host:port"}},
		{"bad listen port", append(base, "--listen=127.0.0.1:x"), []string{`--listen="127.0.0.1:x"`, "0 to 65535"}},
		{"unknown strategy", append(base, "--strategy=fastest"), []string{`--strategy="fastest"`, "allowed: least-request, peak-ewma, random, ring-hash, round-robin"}},
		{"bad hash header", append(base, "--hash-header=x user"), []string{`--hash-header="x user"`, "allowed characters"}},
		{"pseudo header", append(base, "--hash-header=:authority"), []string{`--hash-header=":authority"`}},
		{"bad admin addr", append(base, "--admin-addr=9901"), []string{`--admin-addr="9901"`, "host:port"}},
		{"admin on listen", append(base, "--admin-addr=127.0.0.1:50051"), []string{`listens on 127.0.0.1:50051, already used by --admin-addr`}},
		{"zero drain timeout", append(base, "--drain-timeout=0s"), []string{"--drain-timeout=0s", "greater than 0"}},
		{"negative drain timeout", append(base, "--drain-timeout=-1s"), []string{"--drain-timeout=-1s", "greater than 0"}},
		{"bad log level", append(base, "--log-level=verbose"), []string{`--log-level="verbose"`, "debug, info, warn, error"}},
		{"zero keepalive time", append(base, "--keepalive-time=0s"), []string{"--keepalive-time=0s", "greater than 0"}},
		{"negative probe after", append(base, "--probe-after=-1s"), []string{"--probe-after=-1s", "must not be negative"}},
		{"zero probe timeout", append(base, "--probe-timeout=0s"), []string{"--probe-timeout=0s", "greater than 0"}},
		{"zero keepalive timeout", append(base, "--keepalive-timeout=0s"), []string{"--keepalive-timeout=0s", "greater than 0"}},
		{"zero eject failures", append(base, "--eject-failures=0"), []string{"--eject-failures=0", "at least 1"}},
		{"zero eject backoff", append(base, "--eject-backoff=0s"), []string{"--eject-backoff=0s", "greater than 0"}},
		{"ejection percent over 100", append(base, "--max-ejection-percent=101"), []string{"--max-ejection-percent=101", "from 0 to 100"}},
		{"negative ejection percent", append(base, "--max-ejection-percent=-1"), []string{"--max-ejection-percent=-1", "from 0 to 100"}},
		{"negative subset size", append(base, "--subset-size=-1"), []string{"--subset-size=-1", "from 0 to 100000", "0 means every endpoint"}},
		{"subset id past the end", append(base, "--subset-id=10/10"), []string{`--subset-id="10/10"`, "i must be from 0 to C-1 (9)"}},
		{"subset id syntax", append(base, "--subset-id=3"), []string{`--subset-id="3"`, "want i/C"}},
		{"subset peers not a name", append(base, "--subset-peers=Gateway"), []string{`--subset-peers="Gateway"`, "not a Service name"}},
		{"subset id and peers", append(base, "--subset-id=0/2", "--subset-peers=gateway"), []string{"--subset-id and --subset-peers are both set"}},
		{"duration syntax", append(base, "--drain-timeout=30"), []string{`invalid value "30" for flag -drain-timeout`, "duration such as"}},
		{"int syntax", append(base, "--eject-failures=five"), []string{`invalid value "five" for flag -eject-failures`, "whole number"}},
		{"unknown flag", append(base, "--colour"), []string{"flag provided but not defined: -colour"}},
		{"positional argument", append(base, "extra"), []string{`unexpected argument "extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := parse(tt.args...)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.args, c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestUpstreamPairing(t *testing.T) {
	c, _, err := parse("--upstream=greetserver:50051", "--upstream=users.accounts:grpc=127.0.0.1:7000",
		"--upstream=orders:grpc", "--upstream=billing:6000", "--listen=127.0.0.1:8000", "--listen=127.0.0.1:8001")
	if err != nil {
		t.Fatal(err)
	}
	want := []Upstream{
		{Name: "greetserver:50051", Listen: "127.0.0.1:8000"},
		{Name: "users.accounts:grpc", Listen: "127.0.0.1:7000"},
		{Name: "orders:grpc", Listen: "127.0.0.1:8001"},
		{Name: "billing:6000", Listen: "127.0.0.1:6000"},
	}
	if !reflect.DeepEqual(c.Upstreams, want) {
		t.Fatalf("upstreams %+v\nwant      %+v", c.Upstreams, want)
	}
	if c.Static() {
		t.Fatal("no endpoint flags, yet the config is static")
	}
}

// TestRegisteredStrategiesAreTheContracts checks that --strategy accepts
// exactly the strategies the webhook lets a pod ask for.
func TestRegisteredStrategiesAreTheContracts(t *testing.T) {
	if got, want := balancer.Names(), annotations.Strategies(); !slices.Equal(got, want) {
		t.Fatalf("registered strategies %v, want the contract's %v", got, want)
	}
}

func TestErrorsAreAllReported(t *testing.T) {
	_, _, err := parse("--endpoints=a:1", "--log-level=loud", "--eject-failures=0")
	for _, w := range []string{"--upstream", "--log-level", "--eject-failures"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %s", err, w)
		}
	}
}

func TestHelp(t *testing.T) {
	_, out, err := parse("--help")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(--help) error = %v, want flag.ErrHelp", err)
	}
	for _, w := range []string{"Usage:", "roundabout-agent --upstream SERVICE", "-upstream", "-max-ejection-percent", "(default 30s)"} {
		if !strings.Contains(out, w) {
			t.Errorf("usage does not contain %q:\n%s", w, out)
		}
	}
}

func TestNewLogger(t *testing.T) {
	for _, level := range annotations.LogLevels() {
		log, err := NewLogger(level)
		if err != nil {
			t.Fatalf("NewLogger(%q) = %v", level, err)
		}
		if got := log.Level().String(); got != level {
			t.Errorf("NewLogger(%q) level = %s", level, got)
		}
	}
	if _, err := NewLogger("trace"); err == nil || !strings.Contains(err.Error(), `"trace"`) {
		t.Fatalf("NewLogger(trace) error = %v, want one naming the level", err)
	}
}

func TestProbesCanBeTurnedOff(t *testing.T) {
	c, _, err := parse("--upstream", "greet", "--endpoints", "10.0.0.1:50051", "--probe-after=0s")
	if err != nil {
		t.Fatal(err)
	}
	if c.ProbeAfter != 0 {
		t.Fatalf("--probe-after=0s parsed as %v", c.ProbeAfter)
	}
}

// TestHashHeaderIsTheContracts checks that --hash-header accepts exactly
// the names the hash-header annotation accepts, and lower-cases them.
func TestHashHeaderIsTheContracts(t *testing.T) {
	for _, name := range []string{"x-user-id", "X-User-ID", "x_user.v2", "x user", ":authority", "x-\u212a", "ü", "x/y"} {
		c, _, err := parse("--upstream=greet", "--endpoints=a:1", "--hash-header="+name)
		contract := annotations.ValidHashHeader(name)
		if (err == nil) != (contract == nil) {
			t.Errorf("--hash-header=%q: flag error %v, annotation error %v; want both or neither", name, err, contract)
			continue
		}
		if err == nil && c.HashHeader != strings.ToLower(name) {
			t.Errorf("--hash-header=%q: HashHeader %q, want it lower-cased", name, c.HashHeader)
		}
	}
}
