// Package netnstest adapts package netns to tests: TestMain re-executes the
// test binary inside the namespace, and a test that needs the namespace
// skips, saying why, when it could not be made.
package netnstest

import (
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
)

// Reexec runs the tests inside the namespace and exits with their code. In
// the binary that is already inside, it runs m. When the namespace cannot be
// made (no unshare or ip, or no permission), the tests run in place and
// Require skips them, saying why.
func Reexec(m *testing.M) { netns.ReexecFunc(m.Run) }

// Require skips t unless it runs inside the namespace.
func Require(t testing.TB) {
	t.Helper()
	if why := netns.Unavailable(); why != "" {
		t.Skipf("needs a private network namespace with %s local: %s", netns.CIDR, why)
	}
}

// AddAddr adds cidr to the namespace's loopback (see netns.AddAddr) and
// removes it when t ends, so a test that adds one can run again in the same
// binary (go test -count=2). It skips t outside the namespace.
func AddAddr(t testing.TB, cidr string) {
	t.Helper()
	Require(t)
	remove, err := netns.AddAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := remove(); err != nil {
			t.Error(err)
		}
	})
}
