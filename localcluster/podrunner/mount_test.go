package podrunner

import (
	"slices"
	"testing"
)

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/run`:                `/run`,
		`/tmp/a\040b`:         `/tmp/a b`,
		`/tmp/tab\011x\134y`:  "/tmp/tab\tx\\y",
		`/tmp/not\08escape\0`: `/tmp/not\08escape\0`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOutermostMounts checks the list of mounts moved aside
// around an overlay: a mount below another one travels with it.
func TestOutermostMounts(t *testing.T) {
	out := outermost([]string{"/etc/a/b", "/etc/a", "/etc/c", "/etc/a/d", "/etc/ab", "/etc/c"})
	slices.Sort(out)
	if want := []string{"/etc/a", "/etc/ab", "/etc/c"}; !slices.Equal(out, want) {
		t.Errorf("outermost mounts = %q, want %q", out, want)
	}
}
