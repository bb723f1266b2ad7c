package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseWaitReady(t *testing.T) {
	var out bytes.Buffer
	c, err := ParseWaitReady(&out, nil)
	if err != nil || *c != (WaitReady{AdminAddr: "127.0.0.1:9901", Timeout: 2 * time.Minute}) {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = ParseWaitReady(&out, []string{"--admin-addr=10.0.0.5:9902", "--timeout=120s"})
	if err != nil || *c != (WaitReady{AdminAddr: "10.0.0.5:9902", Timeout: 2 * time.Minute}) {
		t.Fatalf("flags: %+v, %v", c, err)
	}
}

func TestParseWaitReadyErrorsNameTheFlag(t *testing.T) {
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
		var out bytes.Buffer
		_, err := ParseWaitReady(&out, tc.args)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error()+out.String(), w) {
				t.Errorf("%s: error %q (output %q) lacks %q", name, err, out.String(), w)
			}
		}
	}
}
