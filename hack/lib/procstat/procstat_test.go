package procstat

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadsThisProcess(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Base(os.Args[0])
	if len(want) > 15 {
		want = want[:15] // the kernel keeps 15 bytes of the command name
	}
	if st.Comm != want {
		t.Errorf("command %q, want %q", st.Comm, want)
	}
	if st.PPID != os.Getppid() {
		t.Errorf("parent %d, want %d", st.PPID, os.Getppid())
	}
	// Spend CPU, reading the file, until it shows in utime+stime, which
	// count in ticks of 10 ms: well within a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		now, err := ReadStat(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now.CPU > st.CPU {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time still %v after 5 s of reading /proc", now.CPU)
		}
	}

	m, err := ReadStatus(os.Getpid(), "VmRSS", "VmHWM", "Threads")
	if err != nil {
		t.Fatal(err)
	}
	if m["VmRSS"] <= 0 || m["VmHWM"] < m["VmRSS"] || m["Threads"] < 1 {
		t.Errorf("status %v: want VmHWM ≥ VmRSS > 0 and a thread", m)
	}
	if _, err := ReadStatus(os.Getpid(), "VmRSS", "NoSuchField"); err == nil {
		t.Error("a missing field was not an error")
	}
}
