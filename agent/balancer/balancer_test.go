package balancer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

type fakeBuilder string

func (b fakeBuilder) Name() string                { return string(b) }
func (b fakeBuilder) Build(eps []Endpoint) Picker { return NewErrPicker(ErrNoEndpoint) }

func TestRegistry(t *testing.T) {
	Register(fakeBuilder("zeta"))
	Register(fakeBuilder("alpha"))
	if got, want := Names(), []string{"alpha", "zeta"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v; want %v", got, want)
	}
	b, err := Get("zeta")
	if err != nil || b.Name() != "zeta" {
		t.Fatalf(`Get("zeta") = %v, %v; want the zeta builder`, b, err)
	}
	_, err = Get("omega")
	if err == nil {
		t.Fatal(`Get("omega") succeeded; want an unknown-strategy error`)
	}
	for _, s := range []string{`"omega"`, "alpha, zeta"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Get error %q does not mention %s", err, s)
		}
	}
}

func TestErrPicker(t *testing.T) {
	want := errors.New("draining")
	if _, err := NewErrPicker(want).Pick(PickInfo{}); !errors.Is(err, want) {
		t.Fatalf("Pick error = %v; want %v", err, want)
	}
}
