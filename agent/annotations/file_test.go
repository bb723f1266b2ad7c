package annotations

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/roundabout-dev/roundabout/agent/filewatch/filewatchtest"
	apiannotations "github.com/roundabout-dev/roundabout/api/annotations"
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
	if got[apiannotations.Strategy] != "least-request" || got[apiannotations.Upstream] != "greetserver.default:50051,users:grpc" ||
		got["note"] != "two\nlines \"quoted\"" || len(got) != 4 {
		t.Fatalf("parsed %q", got)
	}
	for _, bad := range []string{"no equals sign", `k=unquoted`} {
		if _, err := ParseFile([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseFile(%q) error %v, want one naming line 1", bad, err)
		}
	}
}

func TestWatchLiveFollowsKubeletSwaps(t *testing.T) {
	vol := filewatchtest.NewKubeletDir(t, t.TempDir(), "annotations", `roundabout.dev/strategy="round-robin"`+"\n")
	got := make(chan Live, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := Live{Strategy: "round-robin", HashHeader: "x-flag", SubsetSize: "100"}
	go WatchLive(ctx, vol.Path(), base, zaptest.NewLogger(t), func(l Live) { got <- l })
	expect(t, got, Live{Strategy: "round-robin", HashHeader: "x-flag", SubsetSize: "100"})
	vol.Write(`roundabout.dev/strategy="least-request"` + "\n" + `roundabout.dev/hash-header="x-user"` + "\n")
	expect(t, got, Live{Strategy: "least-request", HashHeader: "x-user", SubsetSize: "100"})
	vol.Write(`roundabout.dev/strategy="least-request"` + "\n" + `roundabout.dev/subset-size="0"` + "\n")
	expect(t, got, Live{Strategy: "least-request", HashHeader: "x-flag", SubsetSize: "0"})
	vol.Write(`other="unrelated change"` + "\n")
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
