package inject

import (
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Default agent resources; the annotations override the CPU request and the
// memory limit.
var (
	DefaultCPURequest    = resource.MustParse("10m")
	DefaultMemoryRequest = resource.MustParse("32Mi")
	DefaultMemoryLimit   = resource.MustParse("64Mi")
)

// options are a pod's validated annotations.
type options struct {
	upstreams []upstream
	// lookasidePort is where the agent serves the lookaside Resolve API on
	// the pod IP; zero when it serves none.
	lookasidePort int32
	strategy      string
	hashHeader    string
	logLevel      string
	cpuRequest    resource.Quantity
	memoryLimit   resource.Quantity
}

// parseOptions reads and validates every Roundabout annotation on pod;
// adminPort is the agent's admin port, which no other listener may take.
// The error, a *Denial, lists every problem found, not just the first.
func parseOptions(pod *corev1.Pod, adminPort int32) (options, error) {
	a := pod.Annotations
	var probs problems
	checkInjectValue(a[annotations.Inject], &probs)
	checkHostNetwork(pod, &probs)
	o := options{
		upstreams:   parseUpstreams(a[annotations.Upstream], &probs),
		strategy:    parseStrategy(a, &probs),
		hashHeader:  parseHashHeader(a, &probs),
		logLevel:    parseLogLevel(a, &probs),
		cpuRequest:  parseQuantity(a, annotations.AgentCPURequest, DefaultCPURequest, &probs),
		memoryLimit: parseQuantity(a, annotations.AgentMemoryLimit, DefaultMemoryLimit, &probs),
	}
	declared := declaredPorts(pod)
	checkContainerPorts(pod, o.upstreams, declared, &probs)
	o.lookasidePort = parseLookasidePort(a, takenPorts(adminPort, o.upstreams, declared), &probs)
	return o, probs.err()
}

// checkInjectValue accepts an absent value (the namespace asked) and the
// values the contract allows; disabled never gets here, since decide skips
// the pod.
func checkInjectValue(v string, probs *problems) {
	if v != "" {
		probs.addErr(annotations.ValidInject(v))
	}
}

// checkHostNetwork refuses pods on the node's network: the agent's
// loopback listeners and admin port would be the node's, shared with every
// other such pod there.
func checkHostNetwork(pod *corev1.Pod, probs *problems) {
	if pod.Spec.HostNetwork {
		probs.add(annotations.Inject, pod.Annotations[annotations.Inject],
			"pods with hostNetwork: true cannot get the agent (its listeners would be the node's); set %s: %s on the pod",
			annotations.Inject, annotations.InjectDisabled)
	}
}

func parseStrategy(a map[string]string, probs *problems) string {
	v, ok := a[annotations.Strategy]
	if !ok {
		return annotations.DefaultStrategy
	}
	probs.addErr(annotations.ValidStrategy(v))
	return v
}

func parseHashHeader(a map[string]string, probs *problems) string {
	v, ok := a[annotations.HashHeader]
	if !ok {
		return ""
	}
	if !httpguts.ValidHeaderFieldName(v) {
		probs.add(annotations.HashHeader, v, "not an HTTP header name; allowed: letters, digits and !#$%%&'*+-.^_`|~")
	}
	return strings.ToLower(v)
}

func parseLogLevel(a map[string]string, probs *problems) string {
	v, ok := a[annotations.LogLevel]
	if !ok {
		return ""
	}
	probs.addErr(annotations.ValidLogLevel(v))
	return v
}

// parseQuantity reads a resource quantity annotation, def when absent.
func parseQuantity(a map[string]string, name string, def resource.Quantity, probs *problems) resource.Quantity {
	v, ok := a[name]
	if !ok {
		return def
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		probs.add(name, v, "want a positive Kubernetes quantity such as %s", def.String())
		return def
	}
	return q
}

// declaredPorts maps every port the pod's containers declare to the name of
// a container declaring it.
func declaredPorts(pod *corev1.Pod) map[int32]string {
	declared := map[int32]string{}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, p := range c.Ports {
			declared[p.ContainerPort] = c.Name
		}
	}
	return declared
}

// checkContainerPorts reports upstreams whose listen port is a port one of
// the pod's own containers declares: the two could not both bind it.
func checkContainerPorts(pod *corev1.Pod, ups []upstream, declared map[int32]string, probs *problems) {
	for _, u := range ups {
		if name, ok := declared[u.listenPort]; ok {
			probs.add(annotations.Upstream, pod.Annotations[annotations.Upstream],
				"upstream %s listens on %s, a port container %q declares; give it another port with =listen", u.target, u.listen, name)
		}
	}
}
