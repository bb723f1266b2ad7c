package inject

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// options are a pod's validated annotations, and what follows from them
// and the pod's spec.
type options struct {
	upstreams []upstream
	// hostAliases map the names of the Services that keep them to the
	// agent's loopback addresses.
	hostAliases []corev1.HostAlias
	// lookasidePort is where the agent serves the lookaside Resolve API on
	// the pod IP; zero when it serves none.
	lookasidePort int32
	strategy      string
	hashHeader    string
	logLevel      string
	subset        subsetOptions
	resources     agentResources
	// native places the agent as a native sidecar.
	native bool
	// ownToken gives the agent service-account credentials of its own.
	ownToken bool
}

// upstreamSource is the upstream annotation's value that applies to a pod:
// its own, else its namespace's default.
type upstreamSource struct {
	value string
	// namespace is the namespace whose default value is, empty when value
	// is the pod's own.
	namespace string
}

// from prefixes messages about a namespace's default.
func (s upstreamSource) from() string {
	if s.namespace == "" {
		return ""
	}
	return "the namespace's default: "
}

// parseOptions reads and validates every Roundabout annotation on pod, with
// up for the upstreams, and checks that the agent fits the pod's spec.
// podNamespace is the namespace the pod is created in. The error, a
// *Denial, lists every problem found, not just the first; the warnings are
// what will work, though perhaps not as meant.
func parseOptions(pod *corev1.Pod, podNamespace string, up upstreamSource, cfg Config) (options, []string, error) {
	a := pod.Annotations
	adminPort := cfg.adminPort()
	var probs problems
	checkInjectValue(a[annotations.Inject], &probs)
	checkHostNetwork(pod, &probs)
	ups, services := parseUpstreams(up.value, podNamespace, up.from(), hostAliasIPs(pod), &probs)
	res, warnings := parseResources(pod, a, &probs)
	o := options{
		upstreams:   ups,
		hostAliases: hostAliases(pod, services, podNamespace, cfg.clusterDomain(), &probs),
		strategy:    parseStrategy(a, &probs),
		hashHeader:  parseHashHeader(a, &probs),
		logLevel:    parseLogLevel(a, &probs),
		subset:      parseSubset(a, &probs),
		resources:   res,
		native:      parseNativeSidecar(a, cfg, &probs),
		ownToken:    needsOwnToken(pod),
	}
	if o.strategy == annotations.StrategyRingHash && o.hashHeader == "" {
		warnings = append(warnings, fmt.Sprintf("annotation %s=%q without %s: ring-hash has no header to hash, so every request goes round-robin",
			annotations.Strategy, o.strategy, annotations.HashHeader))
	}
	if o.subset.id != "" && (pod.GenerateName != "" || len(pod.OwnerReferences) > 0) {
		warnings = append(warnings, fmt.Sprintf("annotation %s=%q on a pod made from a template: every replica gets the same place, so subsets overlap instead of covering the Service evenly; use %s naming a Service over the replicas",
			annotations.SubsetID, o.subset.id, annotations.SubsetPeers))
	}
	declared := declaredPorts(pod)
	checkContainerPorts(up, o.upstreams, declared, &probs)
	checkAdminPort(pod, adminPort, &probs)
	checkVolumeNames(pod, o.ownToken, &probs)
	o.lookasidePort = parseLookasidePort(a, takenPorts(adminPort, o.upstreams, declared), &probs)
	return o, warnings, probs.err()
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
// other such pod there, and the kubelet writes no hostAliases for them.
func checkHostNetwork(pod *corev1.Pod, probs *problems) {
	if pod.Spec.HostNetwork {
		probs.addField("spec.hostNetwork",
			"true: the agent's listeners would be the node's; set %s: %s on the pod",
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

// parseHashHeader accepts what the agent's --hash-header accepts, and
// lower-cases it as the agent does.
func parseHashHeader(a map[string]string, probs *problems) string {
	v, ok := a[annotations.HashHeader]
	if !ok {
		return ""
	}
	probs.addErr(annotations.ValidHashHeader(v))
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

// subsetOptions are the subsetting annotations, each empty when absent.
type subsetOptions struct {
	size, peers, id string
}

// parseSubset validates the subsetting annotations, of which SubsetPeers
// and SubsetID exclude each other.
func parseSubset(a map[string]string, probs *problems) subsetOptions {
	var o subsetOptions
	if v, ok := a[annotations.SubsetSize]; ok {
		probs.addErr(annotations.ValidSubsetSize(v))
		o.size = v
	}
	if v, ok := a[annotations.SubsetPeers]; ok {
		probs.addErr(annotations.ValidSubsetPeers(v))
		o.peers = v
	}
	if v, ok := a[annotations.SubsetID]; ok {
		probs.addErr(annotations.ValidSubsetID(v))
		o.id = v
		if _, both := a[annotations.SubsetPeers]; both {
			probs.add(annotations.SubsetID, v, "set together with %s; the agent's place i/C comes from one of them", annotations.SubsetPeers)
		}
	}
	return o
}

// parseNativeSidecar is the pod's choice of placement when it makes one,
// else the cluster's.
func parseNativeSidecar(a map[string]string, cfg Config, probs *problems) bool {
	if v, ok := a[annotations.NativeSidecar]; ok {
		probs.addErr(annotations.ValidNativeSidecar(v))
	}
	return cfg.nativeSidecar(a)
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
// the pod's own containers declares: a container listening on that port on
// every address and the agent could not both bind it.
func checkContainerPorts(up upstreamSource, ups []upstream, declared map[int32]string, probs *problems) {
	for _, u := range ups {
		if name, ok := declared[u.listenPort]; ok {
			probs.add(annotations.Upstream, up.value,
				"%supstream %s listens on %s, a port container %q declares; give it another port with =listen", up.from(), u.target, u.listen, name)
		}
	}
}

// checkAdminPort refuses a pod whose containers declare the agent's admin
// port or point a probe at it: the agent serves /readyz, /healthz and
// /metrics there on the pod IP, and one of the two would not bind it.
func checkAdminPort(pod *corev1.Pod, adminPort int32, probs *problems) {
	check := func(kind string, cs []corev1.Container) {
		for i, c := range cs {
			base := fmt.Sprintf("spec.%s[%d]", kind, i)
			for j, p := range c.Ports {
				if p.ContainerPort == adminPort {
					probs.addField(fmt.Sprintf("%s.ports[%d].containerPort", base, j),
						"container %q declares port %d, the agent's admin port (/readyz, /healthz, /metrics on the pod IP); move the container to another port",
						c.Name, adminPort)
				}
			}
			for _, pr := range []struct {
				field string
				probe *corev1.Probe
			}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
				if field, ok := probePort(pr.probe, adminPort); ok {
					probs.addField(fmt.Sprintf("%s.%s.%s", base, pr.field, field),
						"container %q probes port %d, the agent's admin port (/readyz, /healthz, /metrics on the pod IP); move the container to another port",
						c.Name, adminPort)
				}
			}
		}
	}
	check("initContainers", pod.Spec.InitContainers)
	check("containers", pod.Spec.Containers)
}

// probePort reports whether p checks port, and the field that names it.
func probePort(p *corev1.Probe, port int32) (string, bool) {
	switch {
	case p == nil:
		return "", false
	case p.HTTPGet != nil && isPort(p.HTTPGet.Port, port):
		return "httpGet.port", true
	case p.TCPSocket != nil && isPort(p.TCPSocket.Port, port):
		return "tcpSocket.port", true
	case p.GRPC != nil && p.GRPC.Port == port:
		return "grpc.port", true
	}
	return "", false
}

func isPort(v intstr.IntOrString, port int32) bool {
	return v.Type == intstr.Int && v.IntVal == port
}

// checkVolumeNames refuses a pod that already has a volume by the name of
// one the agent adds.
func checkVolumeNames(pod *corev1.Pod, ownToken bool, probs *problems) {
	names := []string{AnnotationsVolumeName}
	if ownToken {
		names = append(names, TokenVolumeName)
	}
	for i, v := range pod.Spec.Volumes {
		if slices.Contains(names, v.Name) {
			probs.addField(fmt.Sprintf("spec.volumes[%d].name", i),
				"volume %q has the name of the agent's own volume; rename it", v.Name)
		}
	}
}
