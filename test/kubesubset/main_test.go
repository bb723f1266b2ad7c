package kubesubset

import (
	"fmt"
	"os"
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/test/procs"
)

func TestMain(m *testing.M) {
	netns.ReexecFunc(func() int {
		if err := procs.Build("roundabout-agent"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(procs.Dir)
		return m.Run()
	})
}
