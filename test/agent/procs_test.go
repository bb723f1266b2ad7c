package agent

import (
	"fmt"
	"os"
	"testing"

	"github.com/roundabout-dev/roundabout/test/procs"
)

func TestMain(m *testing.M) {
	if err := procs.Build("roundabout-agent", "greet-server", "greet-gateway"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(procs.Dir)
	os.Exit(code)
}
