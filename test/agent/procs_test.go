package agent

import (
	"os"
	"testing"

	"github.com/roundabout-dev/roundabout/test/procs"
)

func TestMain(m *testing.M) {
	os.Exit(procs.Run(m, "roundabout-agent", "greet-server", "greet-gateway"))
}
