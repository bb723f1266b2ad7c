package balancer

import (
	"errors"
	"testing"
)

// firstPicker always picks the first of its endpoints.
type firstPicker []Endpoint

func (p firstPicker) Pick(PickInfo) (Endpoint, error) { return p[0], nil }

// recordingBuilder records the endpoint sets it is asked to build over.
type recordingBuilder struct{ sets [][]Endpoint }

func (b *recordingBuilder) Build(eps []Endpoint) Picker {
	b.sets = append(b.sets, eps)
	return firstPicker(eps)
}

func TestNewBuilderKeepsTheEmptySetRule(t *testing.T) {
	pb := &recordingBuilder{}
	b := NewBuilder("first", pb)
	if b.Name() != "first" {
		t.Fatalf("Name() = %q; want %q", b.Name(), "first")
	}
	for _, eps := range [][]Endpoint{nil, {}} {
		if _, err := b.Build(eps).Pick(PickInfo{}); !errors.Is(err, ErrNoEndpoint) {
			t.Fatalf("Pick over %#v: error %v; want ErrNoEndpoint", eps, err)
		}
	}
	if len(pb.sets) != 0 {
		t.Fatalf("the PickerBuilder was called with %d empty sets; want none", len(pb.sets))
	}
}

func TestNewBuilderGivesLoadFigures(t *testing.T) {
	pb := &recordingBuilder{}
	own := NewLoad(DefaultDecay)
	eps := []Endpoint{{Addr: "a:1", Load: own}, {Addr: "b:1"}}
	ep, err := NewBuilder("first", pb).Build(eps).Pick(PickInfo{})
	if err != nil || ep.Addr != "a:1" {
		t.Fatalf("Pick = %q, %v; want a:1", ep.Addr, err)
	}
	got := pb.sets[0]
	if got[0].Load != own {
		t.Error("an endpoint's own load figures were replaced")
	}
	if got[1].Load == nil {
		t.Error("an endpoint without load figures reached the PickerBuilder without them")
	}
}
