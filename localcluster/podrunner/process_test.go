package podrunner

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runPlain starts argv outside any sandbox the way Start starts a
// container, and waits for it to be done.
func runPlain(t *testing.T, env []string, argv ...string) (*Process, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	logw, err := openCRILog(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	p, err := startProcess(cmd, logw)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%v not done after 10s", argv)
	}
	return p, readFile(t, path)
}

func TestProcessOutputAndExitCode(t *testing.T) {
	p, log := runPlain(t, []string{}, "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
	if code := p.ExitCode(); code != 3 {
		t.Errorf("ExitCode = %d, want 3", code)
	}
	got := criEntries(t, log)
	slices.Sort(got)
	if want := []string{"stderr F err", "stdout F out"}; !slices.Equal(got, want) {
		t.Errorf("log entries = %q, want %q", got, want)
	}
}

func TestProcessEnvIsExactlyTheContainers(t *testing.T) {
	env := []string{"A=1", "B=two words"}
	_, log := runPlain(t, env, "/usr/bin/env")
	var got []string
	for _, e := range criEntries(t, log) {
		got = append(got, strings.TrimPrefix(e, "stdout F "))
	}
	if !slices.Equal(got, env) {
		t.Errorf("environment = %q, want exactly %q", got, env)
	}
}

func TestProcessSignal(t *testing.T) {
	logw, err := openCRILog("")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(exec.Command("sleep", "60"), logw)
	if err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != -1 {
		t.Errorf("ExitCode while running = %d, want -1", code)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not done 10s after SIGTERM")
	}
	if code := p.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("ExitCode = %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}

// TestProcessDoneWhenAChildKeepsTheOutputOpen checks that Done does not
// wait for a process the program left behind.
func TestProcessDoneWhenAChildKeepsTheOutputOpen(t *testing.T) {
	start := time.Now()
	p, log := runPlain(t, []string{}, "/bin/sh", "-c", "echo before; sleep 30 & exit 0")
	if p.ExitCode() != 0 || !strings.Contains(log, "stdout F before") {
		t.Errorf("exit %d, log %q", p.ExitCode(), log)
	}
	if d := time.Since(start); d > drainTimeout+5*time.Second {
		t.Errorf("done after %s, want about %s", d, drainTimeout)
	}
}
