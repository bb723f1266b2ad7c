package inject

import (
	"fmt"
	"slices"
	"strings"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// warningPrefix starts every admission warning, so that kubectl's
// "Warning:" lines say where they come from.
const warningPrefix = "roundabout: "

// unknownAnnotations warns about every roundabout.dev/ key on the pod that
// is not one of annotations.PodAnnotations, in key order: it is ignored,
// most likely a misspelling. A near miss is named; otherwise the known
// names are listed.
func unknownAnnotations(a map[string]string) []string {
	known := annotations.PodAnnotations()
	var keys []string
	for k := range a {
		if strings.HasPrefix(k, annotations.Prefix) && !slices.Contains(known, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var warnings []string
	for _, k := range keys {
		if guess := closestAnnotation(k, known); guess != "" {
			warnings = append(warnings, fmt.Sprintf("unknown annotation %s is ignored; did you mean %s?", k, guess))
			continue
		}
		warnings = append(warnings, fmt.Sprintf("unknown annotation %s is ignored; known: %s", k, userAnnotations()))
	}
	return warnings
}

// userAnnotations lists, without the prefix, the annotations a user sets.
func userAnnotations() string {
	var names []string
	for _, k := range annotations.PodAnnotations() {
		if k != annotations.Status && k != annotations.AgentImage {
			names = append(names, strings.TrimPrefix(k, annotations.Prefix))
		}
	}
	return strings.Join(names, ", ")
}

// closestAnnotation is the known annotation key most likely meant, or ""
// when none is close: one at most two edits away (letter case aside), or
// one whose name ends in -<key's name>, such as agent-memory-limit for
// memory-limit.
func closestAnnotation(key string, known []string) string {
	name := strings.ToLower(strings.TrimPrefix(key, annotations.Prefix))
	best, bestDistance := "", 3
	for _, k := range known {
		kn := strings.TrimPrefix(k, annotations.Prefix)
		if strings.HasSuffix(kn, "-"+name) {
			return k
		}
		if d := editDistance(name, kn); d < bestDistance {
			best, bestDistance = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// notAppliedWarning is a problem that keeps the agent from a pod only its
// namespace asked it for.
func notAppliedWarning(problem error) string {
	return "not injected as the namespace asks: " + problem.Error()
}

func noUpstreamWarning(namespace string) string {
	return fmt.Sprintf("the agent was not added: namespace %q asks for it, but the pod has no %s annotation and the namespace no default",
		namespace, annotations.Upstream)
}

func runToCompletionWarning(why string) string {
	return fmt.Sprintf("the agent was not added: the pod runs to completion (%s) and a regular-container agent would keep it running; "+
		"set %s: %q if its node runs Kubernetes 1.29+", why, annotations.NativeSidecar, annotations.NativeSidecarTrue)
}
