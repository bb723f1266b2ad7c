package inject

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// parseLookasidePort reads the lookaside port annotation, zero when it is
// absent. The port must be free: taken maps the ports other listeners in
// the pod use to what uses them.
func parseLookasidePort(a map[string]string, taken map[int32]string, probs *problems) int32 {
	v, ok := a[annotations.LookasidePort]
	if !ok {
		return 0
	}
	port, problem := parsePort(v)
	if problem != "" {
		probs.add(annotations.LookasidePort, v,
			"not a port; allowed: an integer from 1 to 65535, the port the agent serves the lookaside Resolve API on at the pod IP")
		return 0
	}
	if owner, ok := taken[port]; ok {
		probs.add(annotations.LookasidePort, v,
			"port %d is taken: %s; allowed: an integer from 1 to 65535 other than %s", port, owner, portList(taken))
		return 0
	}
	return port
}

// takenPorts maps every port the lookaside server may not use to what
// uses it: the agent's admin server, the upstreams' listeners and the
// ports the pod's containers declare. The admin port is added last, so it
// names the owner when a container declares it too.
func takenPorts(adminPort int32, ups []upstream, declared map[int32]string) map[int32]string {
	taken := map[int32]string{}
	for port, container := range declared {
		taken[port] = fmt.Sprintf("container %q declares it", container)
	}
	for _, u := range ups {
		taken[u.listenPort] = fmt.Sprintf("upstream %s listens on %s", u.target, u.listen)
	}
	taken[adminPort] = "it is the agent's admin port"
	return taken
}

// portList lists ports in increasing order, comma-separated.
func portList(taken map[int32]string) string {
	ports := slices.Sorted(maps.Keys(taken))
	texts := make([]string, len(ports))
	for i, p := range ports {
		texts[i] = strconv.Itoa(int(p))
	}
	return strings.Join(texts, ", ")
}
