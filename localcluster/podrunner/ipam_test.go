package podrunner

import (
	"fmt"
	"testing"
)

func TestIPAMHandsOutEachAddressBeforeReusingOne(t *testing.T) {
	a, err := newIPAM("10.244.0.10", "10.244.0.12")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 3 {
		ip, err := a.allocate(fmt.Sprint("pod-", i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip)
	}
	if fmt.Sprint(got) != "[10.244.0.10 10.244.0.11 10.244.0.12]" {
		t.Fatalf("allocated %v, want the range in order", got)
	}
	if ip, err := a.allocate("pod-3"); err == nil {
		t.Fatalf("allocate on a full range = %s, want an error", ip)
	}
	a.release("10.244.0.11")
	a.release("10.244.0.10")
	if ip, _ := a.allocate("pod-4"); ip != "10.244.0.10" {
		t.Fatalf("after the range wrapped, allocate = %s, want 10.244.0.10 (the next free one)", ip)
	}
	if ip, _ := a.allocate("pod-5"); ip != "10.244.0.11" {
		t.Fatalf("allocate = %s, want 10.244.0.11", ip)
	}
}

func TestIPAMDoesNotReuseAJustFreedAddress(t *testing.T) {
	a, _ := newIPAM("10.244.0.10", "10.244.0.250")
	first, _ := a.allocate("old")
	a.release(first)
	next, _ := a.allocate("new")
	if next == first {
		t.Fatalf("a new pod got %s, the address a just-deleted pod held", next)
	}
	if !a.contains(next) || a.contains("10.244.0.9") || a.contains("10.244.0.251") {
		t.Fatal("contains disagrees with the range")
	}
}

func TestIPAMRejectsBadRanges(t *testing.T) {
	for _, r := range [][2]string{{"10.0.0.5", "10.0.0.4"}, {"x", "10.0.0.4"}, {"10.0.0.1", "fd00::1"}} {
		if _, err := newIPAM(r[0], r[1]); err == nil {
			t.Errorf("newIPAM(%s, %s) accepted a bad range", r[0], r[1])
		}
	}
}
