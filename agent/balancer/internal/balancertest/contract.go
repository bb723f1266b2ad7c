package balancertest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
)

// Contract checks what every strategy promises: it is registered under its
// name, it keeps the empty-set rule of balancer.Builder (a picker over no
// endpoints fails with balancer.ErrNoEndpoint, here for each of infos, an
// empty PickInfo when none is given), and a picker over three endpoints
// serves concurrent picks, with load recorded, without error.
func Contract(t *testing.T, b balancer.Builder, infos ...balancer.PickInfo) {
	t.Helper()
	if len(infos) == 0 {
		infos = []balancer.PickInfo{{}}
	}
	if got, err := balancer.Get(b.Name()); err != nil || got.Name() != b.Name() {
		t.Fatalf("Get(%q) = %v, %v", b.Name(), got, err)
	}
	empty := b.Build(nil)
	for _, info := range infos {
		if _, err := empty.Pick(info); !errors.Is(err, balancer.ErrNoEndpoint) {
			t.Fatalf("Pick(%+v) over no endpoints: error %v; want ErrNoEndpoint", info, err)
		}
	}
	concurrentPicks(t, b.Build(Endpoints(3)), infos)
}

func concurrentPicks(t *testing.T, p balancer.Picker, infos []balancer.PickInfo) {
	t.Helper()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 1000 {
				ep, err := p.Pick(infos[i%len(infos)])
				if err != nil {
					t.Error(err)
					return
				}
				ep.Load.Begin()
				ep.Load.End(time.Millisecond, Epoch.Add(time.Duration(i)*time.Millisecond))
			}
		})
	}
	wg.Wait()
}
