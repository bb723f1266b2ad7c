package greettest

// Tally counts how often each value occurs, e.g. responses per pod name.
func Tally[T comparable](values []T) map[T]int {
	counts := make(map[T]int)
	for _, v := range values {
		counts[v]++
	}
	return counts
}

// Requests returns each server's request count, in the order given.
func Requests(servers []*Server) []int64 {
	counts := make([]int64, len(servers))
	for i, s := range servers {
		counts[i] = s.Requests()
	}
	return counts
}
