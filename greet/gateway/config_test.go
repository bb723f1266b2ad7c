package gateway

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) LookupFunc {
	return func(key string) (string, bool) {
		v, ok := vars[key]
		return v, ok
	}
}

func TestConfigFromEnvDefaults(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{EnvServerHost: "greet-server"}))
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	want := Config{ServerHost: "greet-server", ServerPort: 50051, HTTPPort: 9091, Timeout: 5 * time.Second, LBPolicy: PolicyPickFirst}
	if cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
	if got := cfg.Target(); got != "passthrough:///greet-server:50051" {
		t.Errorf("Target = %q, want passthrough to greet-server:50051", got)
	}
	if got := cfg.HTTPAddress(); got != ":9091" {
		t.Errorf("HTTPAddress = %q, want :9091", got)
	}
}

func TestConfigFromEnvRoundRobin(t *testing.T) {
	tests := map[string]struct {
		dnsServer, target string
	}{
		"system resolver": {"", "dns:///greet-server:6000"},
		"own DNS server":  {"127.0.0.1:5353", "dns://127.0.0.1:5353/greet-server:6000"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(env(map[string]string{
				EnvServerHost: "greet-server", EnvServerPort: "6000",
				EnvLBPolicy: "round_robin", EnvDNSServer: tc.dnsServer,
			}))
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if got := cfg.Target(); got != tc.target {
				t.Errorf("Target = %q, want %q", got, tc.target)
			}
			if got, want := cfg.ServiceConfig(), `{"loadBalancingConfig":[{"round_robin":{}}]}`; got != want {
				t.Errorf("ServiceConfig = %s, want %s", got, want)
			}
		})
	}
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	tests := map[string]struct {
		vars map[string]string
		key  string
	}{
		"host missing":          {map[string]string{}, EnvServerHost},
		"server port word":      {map[string]string{EnvServerPort: "grpc"}, EnvServerPort},
		"http port too large":   {map[string]string{EnvHTTPPort: "70000"}, EnvHTTPPort},
		"timeout without unit":  {map[string]string{EnvTimeout: "5"}, EnvTimeout},
		"timeout zero":          {map[string]string{EnvTimeout: "0s"}, EnvTimeout},
		"unknown policy":        {map[string]string{EnvLBPolicy: "least_request"}, EnvLBPolicy},
		"dns server without rr": {map[string]string{EnvDNSServer: "127.0.0.1:53"}, EnvDNSServer},
		"dns server no port":    {map[string]string{EnvLBPolicy: "round_robin", EnvDNSServer: "127.0.0.1"}, EnvDNSServer},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.key != EnvServerHost {
				tc.vars[EnvServerHost] = "greet-server"
			}
			_, err := ConfigFromEnv(env(tc.vars))
			if err == nil {
				t.Fatalf("%v: want an error", tc.vars)
			}
			if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.vars[tc.key]) {
				t.Errorf("error %q should name %s and its value", err, tc.key)
			}
		})
	}
}
