package podrunner

import (
	"os"
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// TestMain runs the tests in a node namespace (see netns.ReexecNode), where
// sandbox tests can make pods of their own; tests that need it call
// netns.Require. With lookupProbeEnv set, the binary is the lookup probe
// TestGoResolverReadsHostAliases runs in a pod, and runs no test.
func TestMain(m *testing.M) {
	if names, ok := os.LookupEnv(lookupProbeEnv); ok {
		os.Exit(lookupProbe(names))
	}
	netns.ReexecNode(func() int {
		code := m.Run()
		if procs.Dir != "" {
			_ = os.RemoveAll(procs.Dir)
		}
		return code
	})
}
