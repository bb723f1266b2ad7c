package e2e

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/demo"
	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"
	"github.com/roundabout-dev/roundabout/test/procs"
)

func TestMain(m *testing.M) {
	netns.ReexecNode(func() int { return procs.Run(m) })
}

// TestDemo walks the whole scenario and fails on every expectation that
// does not hold, and on any failed request during the rolling restart.
func TestDemo(t *testing.T) {
	netnstest.Require(t)
	if controlplane.Assets() == "" {
		t.Skip(controlplane.SkipMessage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := demo.Run(ctx, demo.Options{Root: moduleRoot(), BinDir: procs.Dir, Assets: controlplane.Assets(),
		Dir: t.TempDir(), Out: os.Stdout})
	if err != nil {
		t.Fatalf("the scenario did not run: %v", err)
	}
	for _, f := range rep.Failed() {
		t.Errorf("%s", f)
	}
	if len(rep.Steps) != 7 {
		t.Fatalf("%d steps ran, want 7", len(rep.Steps))
	}
	restart := rep.Steps[4].Load
	if restart == nil || restart.Failures != 0 || restart.Requests != 4000 {
		t.Errorf("rolling restart load = %+v, want 4000 requests and 0 failures", restart)
	}
}

func moduleRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}
