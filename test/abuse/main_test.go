package abuse

import (
	"fmt"
	"os"
	"testing"

	"github.com/roundabout-dev/roundabout/test/procs"
)

// binDir holds roundabout-agent and greet-server.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if dir := os.Getenv("ABUSE_BIN_DIR"); dir != "" {
		binDir = dir
		return m.Run()
	}
	if err := procs.Build("roundabout-agent", "greet-server"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(procs.Dir)
	binDir = procs.Dir
	return m.Run()
}
