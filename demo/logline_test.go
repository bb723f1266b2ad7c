package demo

import "testing"

func TestReadableLog(t *testing.T) {
	for in, want := range map[string]string{
		`{"level":"info","ts":"2026-11-26T04:04:39.163Z","caller":"pool/pool.go:192","msg":"strategy changed","upstream":"greetserver.greet:50051","from":"round-robin","to":"least-request"}`: "04:04:39.163 strategy changed upstream=greetserver.greet:50051 from=round-robin to=least-request",
		`{"ts":"2026-11-26T04:04:11.242Z","msg":"endpoints changed","endpoints":3,"added":["10.244.0.13:50051"]}`:                                                                              `04:04:11.242 endpoints changed endpoints=3 added=["10.244.0.13:50051"]`,
		`not json`:   "not json",
		`{"msg":`:    `{"msg":`,
		`["a", "b"]`: `["a", "b"]`,
	} {
		if got := readableLog(in); got != want {
			t.Errorf("readableLog(%s)\n got %s\nwant %s", in, got, want)
		}
	}
}
