package server

import (
	"context"
	"testing"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// TestParseIdentityReadsWhatResponsesWrite parses the identity back out of
// the result the service writes, and refuses results that carry none.
func TestParseIdentityReadsWhatResponsesWrite(t *testing.T) {
	want := Identity{Name: "greet-7f9c-x2", IP: "10.244.0.12"}
	resp, err := NewService(want).Greet(context.Background(),
		&greetv1.GreetRequest{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ParseIdentity(resp.GetResult())
	if !ok || got != want {
		t.Fatalf("ParseIdentity(%q) = %+v, %v; want %+v, true", resp.GetResult(), got, ok, want)
	}
	if name, ok := PodName(resp.GetResult()); !ok || name != want.Name {
		t.Fatalf("PodName(%q) = %q, %v; want %q, true", resp.GetResult(), name, ok, want.Name)
	}
	for _, bad := range []string{"", "Hello, Ada", "from pod: name(a), ip(b)", "from pod: name(a(b)), ip(c)."} {
		if id, ok := ParseIdentity(bad); ok {
			t.Errorf("ParseIdentity(%q) = %+v, true; want false", bad, id)
		}
	}
}
