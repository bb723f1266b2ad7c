package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// FuzzGreetBody checks that no request body makes the gateway panic or blame
// the server: with a healthy greet server behind it, every answer is 200 with
// a greeting, or a 4xx.
func FuzzGreetBody(f *testing.F) {
	for _, seed := range []string{
		`{"first_name":"Ada","last_name":"Lovelace"}`, `{"first_name":""}`, `{}`, `null`, `[]`, `"x"`, ``,
		`{"first_name":"Ada"}{"first_name":"Ada"}`, `{"first_name":"\ud800"}`, `{"first_name":"Ada","x":1}`,
		`{"first_name":{"nested":true}}`, `{"first_name":"from pod: name(x), ip(y)."}`,
	} {
		f.Add(seed)
	}
	srv := greettest.Start(f, "127.0.0.2:0", "greet-fuzz")
	h := newGateway(f, srv.Addr(), 5*time.Second)
	f.Fuzz(func(t *testing.T, body string) {
		rec := post(h, body)
		switch {
		case rec.Code == http.StatusOK:
			if !strings.HasSuffix(rec.Body.String(), "from pod: name(greet-fuzz), ip(127.0.0.2).") {
				t.Errorf("200 with body %q, want a greeting from greet-fuzz", rec.Body.String())
			}
		case rec.Code < 400 || rec.Code >= 500:
			t.Errorf("body %q: status %d %q, want 200 or 4xx", body, rec.Code, rec.Body.String())
		}
	})
}
