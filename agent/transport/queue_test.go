package transport

import "testing"

func TestStreamQueueKeepsOrderAcrossGrowth(t *testing.T) {
	var q streamQueue
	streams := make([]*Stream, 100)
	for i := range streams {
		streams[i] = &Stream{id: uint32(i)}
	}
	next := 0
	for i, s := range streams {
		q.push(s)
		if i%3 == 2 { // interleave pops so the ring wraps before it grows
			if got := q.pop(); got != streams[next] {
				t.Fatalf("pop %d gave stream %d", next, got.id)
			}
			next++
		}
	}
	var seen []uint32
	q.each(func(s *Stream) { seen = append(seen, s.id) })
	if len(seen) != q.len() || seen[0] != uint32(next) {
		t.Fatalf("each saw %v with %d queued from %d", seen, q.len(), next)
	}
	for q.len() > 0 {
		if got := q.pop(); got != streams[next] {
			t.Fatalf("pop %d gave stream %d", next, got.id)
		}
		next++
	}
	if next != len(streams) {
		t.Fatalf("popped %d of %d", next, len(streams))
	}
}
