package demo

import (
	"context"
	"testing"
	"time"
)

func TestFirstSeenKeepsTheFirstTimeAndWakesWaiters(t *testing.T) {
	f := newFirstSeen()
	t0 := time.Now()
	done := make(chan []string)
	go func() {
		names, _ := f.waitCount(context.Background(), 2, t0.Add(10*time.Second))
		done <- names
	}()
	f.record("a", t0)
	f.record("a", t0.Add(time.Second))
	f.record("b", t0.Add(2*time.Second))
	if names := <-done; len(names) != 2 || names[0] != "a" || names[1] != "b" {
		t.Errorf("waitCount = %v, want [a b]", names)
	}
	if at, ok := f.wait(context.Background(), "a", t0); !ok || !at.Equal(t0) {
		t.Errorf("a first seen at %v (%v), want %v", at, ok, t0)
	}
	if _, ok := f.wait(context.Background(), "c", time.Now().Add(10*time.Millisecond)); ok {
		t.Error("c was never recorded but wait found it")
	}
}
