package annotations

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func TestParseFile(t *testing.T) {
	data := "kubernetes.io/config.seen=\"2026-11-26T01:02:03Z\"\n" +
		"roundabout.dev/strategy=\"least-request\"\n" +
		"roundabout.dev/upstream=\"greetserver.default:50051,users:grpc\"\n" +
		"note=\"two\\nlines \\\"quoted\\\"\"\n"
	got, err := ParseFile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got[Strategy] != "least-request" || got[Upstream] != "greetserver.default:50051,users:grpc" ||
		got["note"] != "two\nlines \"quoted\"" || len(got) != 4 {
		t.Fatalf("parsed %q", got)
	}
	for _, bad := range []string{"no equals sign", `k=unquoted`} {
		if _, err := ParseFile([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseFile(%q) error %v, want one naming line 1", bad, err)
		}
	}
}

// kubeletWrite replaces dir's annotations the way the kubelet's atomic
// writer does: a new timestamped directory, a ..data_tmp symlink to it
// renamed over ..data, and the file itself a symlink through ..data.
func kubeletWrite(t *testing.T, dir string, gen int, content string) {
	t.Helper()
	ts := fmt.Sprintf("..2026_11_26_01_00_%02d.%d", gen, gen)
	must(t, os.Mkdir(filepath.Join(dir, ts), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, ts, "annotations"), []byte(content), 0o644))
	must(t, os.Symlink(ts, filepath.Join(dir, "..data_tmp")))
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	if _, err := os.Lstat(filepath.Join(dir, "annotations")); err != nil {
		must(t, os.Symlink("..data/annotations", filepath.Join(dir, "annotations")))
	}
	if old != "" {
		must(t, os.RemoveAll(filepath.Join(dir, old)))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatchLiveFollowsKubeletSwaps(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite(t, dir, 1, `roundabout.dev/strategy="round-robin"`+"\n")
	got := make(chan Live, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := Live{Strategy: "round-robin", HashHeader: "x-flag"}
	go WatchLive(ctx, filepath.Join(dir, "annotations"), base, zaptest.NewLogger(t), func(l Live) { got <- l })
	expect(t, got, Live{Strategy: "round-robin", HashHeader: "x-flag"})
	kubeletWrite(t, dir, 2, `roundabout.dev/strategy="least-request"`+"\n"+`roundabout.dev/hash-header="x-user"`+"\n")
	expect(t, got, Live{Strategy: "least-request", HashHeader: "x-user"})
	kubeletWrite(t, dir, 3, `other="unrelated change"`+"\n")
	expect(t, got, base)
}

func expect(t *testing.T, got <-chan Live, want Live) {
	t.Helper()
	select {
	case l := <-got:
		if l != want {
			t.Fatalf("live settings %+v, want %+v", l, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no change reported; want %+v", want)
	}
}
