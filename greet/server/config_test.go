package server

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
	cfg, err := ConfigFromEnv(env(nil))
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	want := Config{Port: DefaultPort}
	if cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
	if got := cfg.ListenAddress(); got != ":50051" {
		t.Errorf("ListenAddress = %q, want all addresses on :50051", got)
	}
}

func TestConfigFromEnvAllSet(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{
		EnvPodName: "greet-7", EnvPodIP: "10.1.2.3", EnvPort: "6000",
		EnvDelay: "150ms", EnvFailRate: "0.25",
	}))
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	want := Config{PodName: "greet-7", PodIP: "10.1.2.3", Port: 6000, Delay: 150 * time.Millisecond, FailRate: 0.25}
	if cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
	if got := cfg.ListenAddress(); got != "10.1.2.3:6000" {
		t.Errorf("ListenAddress = %q, want 10.1.2.3:6000", got)
	}
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	tests := map[string]struct{ key, value string }{
		"port not a number":    {EnvPort, "http"},
		"port zero":            {EnvPort, "0"},
		"port too large":       {EnvPort, "65536"},
		"delay without unit":   {EnvDelay, "100"},
		"delay negative":       {EnvDelay, "-1s"},
		"fail rate word":       {EnvFailRate, "half"},
		"fail rate above one":  {EnvFailRate, "1.5"},
		"fail rate negative":   {EnvFailRate, "-0.1"},
		"fail rate not number": {EnvFailRate, "NaN"},
		"pod ip not an ip":     {EnvPodIP, "greet-0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ConfigFromEnv(env(map[string]string{tc.key: tc.value}))
			if err == nil {
				t.Fatalf("%s=%q: want an error", tc.key, tc.value)
			}
			if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.value) {
				t.Errorf("error %q should name %s and the value %q", err, tc.key, tc.value)
			}
		})
	}
}
