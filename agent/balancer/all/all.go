// Package all registers every load-balancing strategy the agent ships:
// import it once, for its side effect, to make them all available through
// balancer.Get.
package all

import (
	_ "github.com/roundabout-dev/roundabout/agent/balancer/leastrequest" // least-request
	_ "github.com/roundabout-dev/roundabout/agent/balancer/peakewma"     // peak-ewma
	_ "github.com/roundabout-dev/roundabout/agent/balancer/random"       // random
	_ "github.com/roundabout-dev/roundabout/agent/balancer/ringhash"     // ring-hash
	_ "github.com/roundabout-dev/roundabout/agent/balancer/roundrobin"   // round-robin
)
