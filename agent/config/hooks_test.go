package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestParseHook(t *testing.T) {
	var out bytes.Buffer
	noEnv := env(nil)
	for _, tc := range []struct {
		command string
		args    []string
		want    Hook
	}{
		{WaitReadyCommand, nil, Hook{WaitReadyCommand, "127.0.0.1:9901", 2 * time.Minute}},
		{DrainWaitCommand, nil, Hook{DrainWaitCommand, "127.0.0.1:9901", 30 * time.Second}},
		{WaitReadyCommand, []string{"--admin-addr=10.0.0.5:9902", "--timeout=120s"},
			Hook{WaitReadyCommand, "10.0.0.5:9902", 2 * time.Minute}},
		{DrainWaitCommand, []string{"--admin-addr=:9901", "--timeout=45s"}, Hook{DrainWaitCommand, ":9901", 45 * time.Second}},
	} {
		c, err := ParseHook(&out, tc.command, tc.args, noEnv)
		if err != nil || *c != tc.want {
			t.Errorf("%s %q: %+v, %v; want %+v", tc.command, tc.args, c, err, tc.want)
		}
	}
}

// The kubelet does not expand $(POD_IP) in a hook's command: the
// subcommand does, from the container's environment.
func TestParseHookExpandsTheEnvironment(t *testing.T) {
	var out bytes.Buffer
	vars := env(map[string]string{"POD_IP": "10.244.0.7", "PORT": "9901"})
	c, err := ParseHook(&out, WaitReadyCommand, []string{"--admin-addr=$(POD_IP):$(PORT)"}, vars)
	if err != nil || c.AdminAddr != "10.244.0.7:9901" {
		t.Fatalf("%+v, %v; want 10.244.0.7:9901", c, err)
	}
	_, err = ParseHook(&out, WaitReadyCommand, []string{"--admin-addr=$(HOST_IP):9901"}, vars)
	if err == nil || !strings.Contains(err.Error(), "--admin-addr") || !strings.Contains(err.Error(), "$(HOST_IP) is not set") {
		t.Fatalf("unset variable: %v", err)
	}
	for in, want := range map[string]string{"a$$(b)c": "a$(b)c", "$": "$", "a$b": "a$b", "$(PORT)$": "9901$"} {
		if got, err := expandEnv(in, vars); err != nil || got != want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := expandEnv("$(POD_IP", vars); err == nil {
		t.Error("an unterminated $( expanded")
	}
}

func TestParseHookErrorsNameTheFlag(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"no port":        {[]string{"--admin-addr=localhost"}, []string{"--admin-addr", "localhost", "host:port"}},
		"port zero":      {[]string{"--admin-addr=127.0.0.1:0"}, []string{"--admin-addr", "port 0"}},
		"bad duration":   {[]string{"--timeout=soon"}, []string{"timeout", "soon", "want a duration"}},
		"zero timeout":   {[]string{"--timeout=0s"}, []string{"--timeout=0s", "greater than 0"}},
		"unknown flag":   {[]string{"--upstream=greet"}, []string{"upstream"}},
		"extra argument": {[]string{"now"}, []string{`unexpected argument "now"`}},
	} {
		for _, command := range []string{WaitReadyCommand, DrainWaitCommand} {
			var out bytes.Buffer
			_, err := ParseHook(&out, command, tc.args, env(nil))
			if err == nil {
				t.Errorf("%s %s: no error", command, name)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error()+out.String(), w) {
					t.Errorf("%s %s: error %q (output %q) lacks %q", command, name, err, out.String(), w)
				}
			}
		}
	}
}
