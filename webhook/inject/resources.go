package inject

import (
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Default agent resources. In a Guaranteed pod the agent's requests equal
// its limits: DefaultGuaranteedCPU for both CPU figures, and the memory
// limit for both memory figures, unless annotations say otherwise.
var (
	DefaultCPURequest    = resource.MustParse("10m")
	DefaultMemoryRequest = resource.MustParse("32Mi")
	DefaultMemoryLimit   = resource.MustParse("64Mi")
	// DefaultGuaranteedCPU is the agent's CPU request and limit in a
	// Guaranteed pod. It is above DefaultCPURequest because a limit is a
	// CFS quota: at 10m the proxy would run 1 ms in every 100 ms and stall
	// its requests for the rest.
	DefaultGuaranteedCPU = resource.MustParse("100m")
)

// Floors below which a resource annotation is refused (the contract's
// AgentCPUFloor and AgentMemoryFloor).
var (
	cpuFloor    = resource.MustParse(annotations.AgentCPUFloor)
	memoryFloor = resource.MustParse(annotations.AgentMemoryFloor)
)

// DefaultGOMAXPROCS is the agent's GOMAXPROCS when it has no CPU limit:
// the contract's, which the agent also applies when the variable is unset.
var DefaultGOMAXPROCS = strconv.Itoa(annotations.DefaultGOMAXPROCS)

// agentResources are the agent's resources and the GOMAXPROCS that goes
// with its CPU limit.
type agentResources struct {
	requirements corev1.ResourceRequirements
	gomaxprocs   string
}

// quantityAnnotation is one of the resource annotations, read.
type quantityAnnotation struct {
	name  string
	value *resource.Quantity // nil when absent or invalid
}

// parseResources works out the agent's resources from the annotations and
// the pod's QoS class, adding a problem for every quantity that is not one,
// is below its floor, or exceeds its limit, and a warning when the
// annotations turn a Guaranteed pod Burstable or are ignored.
func parseResources(pod *corev1.Pod, a map[string]string, probs *problems) (agentResources, []string) {
	cpuReq := parseQuantity(a, annotations.AgentCPURequest, cpuFloor, DefaultCPURequest, probs)
	cpuLim := parseQuantity(a, annotations.AgentCPULimit, cpuFloor, DefaultGuaranteedCPU, probs)
	memReq := parseQuantity(a, annotations.AgentMemoryRequest, memoryFloor, DefaultMemoryRequest, probs)
	memLim := parseQuantity(a, annotations.AgentMemoryLimit, memoryFloor, DefaultMemoryLimit, probs)
	checkNotAbove(a, cpuReq, cpuLim, probs)
	checkNotAbove(a, memReq, memLim, probs)

	if podLevelResources(pod) {
		var warnings []string
		for _, q := range []quantityAnnotation{cpuReq, cpuLim, memReq, memLim} {
			if _, ok := a[q.name]; ok {
				warnings = append(warnings, fmt.Sprintf("annotation %s is ignored: the pod sets spec.resources, and the agent shares that budget", q.name))
			}
		}
		lim, ok := pod.Spec.Resources.Limits[corev1.ResourceCPU]
		return agentResources{gomaxprocs: gomaxprocs(lim, ok)}, warnings
	}

	var cpuRequest, memRequest, memLimit resource.Quantity
	var cpuLimit *resource.Quantity
	guaranteed := isGuaranteed(pod)
	if guaranteed {
		cpu := first(cpuReq.value, cpuLim.value, &DefaultGuaranteedCPU)
		cpuRequest, cpuLimit = *first(cpuReq.value, cpu), first(cpuLim.value, cpu)
		mem := first(memLim.value, memReq.value, &DefaultMemoryLimit)
		memRequest, memLimit = *first(memReq.value, mem), *first(memLim.value, mem)
	} else {
		cpuRequest, cpuLimit = *first(cpuReq.value, &DefaultCPURequest), cpuLim.value
		if cpuLimit != nil && cpuRequest.Cmp(*cpuLimit) > 0 {
			cpuRequest = *cpuLimit
		}
		memLimit = *first(memLim.value, maxQuantity(DefaultMemoryLimit, memReq.value))
		memRequest = *first(memReq.value, minQuantity(DefaultMemoryRequest, memLimit))
	}
	r := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: cpuRequest, corev1.ResourceMemory: memRequest},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: memLimit},
	}
	if cpuLimit != nil {
		r.Limits[corev1.ResourceCPU] = *cpuLimit
	}
	var warnings []string
	if guaranteed {
		if cpuRequest.Cmp(*cpuLimit) != 0 {
			warnings = append(warnings, burstable("cpu", cpuRequest, *cpuLimit, annotations.AgentCPURequest, annotations.AgentCPULimit))
		}
		if memRequest.Cmp(memLimit) != 0 {
			warnings = append(warnings, burstable("memory", memRequest, memLimit, annotations.AgentMemoryRequest, annotations.AgentMemoryLimit))
		}
	}
	return agentResources{requirements: r, gomaxprocs: gomaxprocs(quantityOr(cpuLimit))}, warnings
}

// burstable warns that the agent's request and limit of one resource, as
// annotations set them, differ in a Guaranteed pod.
func burstable(resourceName string, request, limit resource.Quantity, requestAnnotation, limitAnnotation string) string {
	return fmt.Sprintf("the agent's %s request %s (%s) differs from its limit %s (%s), so this Guaranteed pod becomes Burstable",
		resourceName, request.String(), requestAnnotation, limit.String(), limitAnnotation)
}

// parseQuantity reads a resource annotation; the value is nil when it is
// absent or refused. example is a valid value, for messages.
func parseQuantity(a map[string]string, name string, floor, example resource.Quantity, probs *problems) quantityAnnotation {
	v, ok := a[name]
	if !ok {
		return quantityAnnotation{name: name}
	}
	q, err := resource.ParseQuantity(v)
	switch {
	case err != nil:
		probs.add(name, v, "not a Kubernetes quantity; allowed: a quantity of at least %s, such as %s", floor.String(), example.String())
		return quantityAnnotation{name: name}
	case q.Cmp(floor) < 0:
		probs.add(name, v, "below the agent's floor of %s; allowed: a quantity of at least %s, such as %s", floor.String(), floor.String(), example.String())
		return quantityAnnotation{name: name}
	}
	return quantityAnnotation{name: name, value: &q}
}

// checkNotAbove adds a problem, naming both annotations, when a request
// annotation exceeds its limit annotation.
func checkNotAbove(a map[string]string, request, limit quantityAnnotation, probs *problems) {
	if request.value != nil && limit.value != nil && request.value.Cmp(*limit.value) > 0 {
		probs.add(request.name, a[request.name], "above %s=%q; a request may not exceed its limit", limit.name, a[limit.name])
	}
}

// podLevelResources reports whether the pod sets spec.resources: its QoS
// class then comes from there, and every container, the agent included,
// draws on that budget.
func podLevelResources(pod *corev1.Pod) bool {
	r := pod.Spec.Resources
	return r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0)
}

// isGuaranteed reports whether every container and init container of pod
// has CPU and memory limits and requests equal to them (a request left out
// defaults to its limit): the Guaranteed QoS class, which the agent keeps.
func isGuaranteed(pod *corev1.Pod) bool {
	cs := slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers)
	if len(cs) == 0 {
		return false
	}
	for _, c := range cs {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			lim, ok := c.Resources.Limits[name]
			if !ok || lim.IsZero() {
				return false
			}
			if req, ok := c.Resources.Requests[name]; ok && req.Cmp(lim) != 0 {
				return false
			}
		}
	}
	return true
}

// gomaxprocs is the CPU limit rounded up to whole CPUs, at least 1, or
// DefaultGOMAXPROCS without a limit.
func gomaxprocs(limit resource.Quantity, ok bool) string {
	if !ok {
		return DefaultGOMAXPROCS
	}
	n := (limit.MilliValue() + 999) / 1000
	return strconv.FormatInt(max(n, 1), 10)
}

func first(qs ...*resource.Quantity) *resource.Quantity {
	for _, q := range qs {
		if q != nil {
			return q
		}
	}
	return nil
}

func maxQuantity(a resource.Quantity, b *resource.Quantity) *resource.Quantity {
	if b != nil && b.Cmp(a) > 0 {
		return b
	}
	return &a
}

func minQuantity(a, b resource.Quantity) *resource.Quantity {
	if b.Cmp(a) < 0 {
		return &b
	}
	return &a
}

func quantityOr(q *resource.Quantity) (resource.Quantity, bool) {
	if q == nil {
		return resource.Quantity{}, false
	}
	return *q, true
}
