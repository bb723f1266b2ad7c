package kubesubset

import (
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/test/procs"
)

func TestMain(m *testing.M) {
	netns.ReexecFunc(func() int { return procs.Run(m, "roundabout-agent") })
}
