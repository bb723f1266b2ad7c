package pickrand

import (
	"math/rand/v2"
	"sync"
	"testing"
)

func TestSeededSourceReplays(t *testing.T) {
	a, b := New(rand.NewPCG(1, 2)), New(rand.NewPCG(1, 2))
	for k := range 100 {
		if x, y := a.IntN(1000), b.IntN(1000); x != y {
			t.Fatalf("draw %d: same seed gave %d and %d", k, x, y)
		}
	}
}

func TestPairIsDistinctAndUniform(t *testing.T) {
	const n, draws = 3, 60000
	r := New(rand.NewPCG(3, 4))
	var counts [n][n]int
	for range draws {
		i, j := r.Pair(n)
		if i == j || i < 0 || j < 0 || i >= n || j >= n {
			t.Fatalf("Pair(%d) = %d, %d; want two distinct indexes in range", n, i, j)
		}
		counts[i][j]++
	}
	want := draws / (n * (n - 1))
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			if c := counts[i][j]; c < want*9/10 || c > want*11/10 {
				t.Errorf("ordered pair (%d,%d) drawn %d times; want %d +-10%%", i, j, c, want)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	for _, r := range []*Rand{nil, New(nil), New(rand.NewPCG(5, 6))} {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 1000 {
					if v := r.IntN(7); v < 0 || v >= 7 {
						t.Errorf("IntN(7) = %d", v)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
