package greettest

import "regexp"

// podPattern matches the identity every greet response ends with:
// "... from pod: name(greet-0), ip(127.0.0.2)."
var podPattern = regexp.MustCompile(`from pod: name\(([^()]*)\), ip\(([^()]*)\)\.$`)

// PodName returns the pod name in a greet response, and false when result
// carries no pod identity.
func PodName(result string) (string, bool) {
	m := podPattern.FindStringSubmatch(result)
	if m == nil {
		return "", false
	}
	return m[1], true
}

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
