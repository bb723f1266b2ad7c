package controlplane_test

import (
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
)

// TestMain runs the tests in a namespace in node mode: kube-proxy rewrites
// its iptables rules and CoreDNS binds the node address.
func TestMain(m *testing.M) { netns.ReexecNode(m.Run) }
