package server

import (
	"context"
	"testing"
)

// BenchmarkHandle is the CPU cost of one injection decision in-process:
// decode, decide, build the agent, and compute the JSON patch.
func BenchmarkHandle(b *testing.B) {
	h := newTestHandler(b)
	req := podRequest(b, "demo", testPod(enabled("greetserver:50051")))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(ctx, req); len(resp.Patches) == 0 {
			b.Fatal("pod not patched")
		}
	}
}
