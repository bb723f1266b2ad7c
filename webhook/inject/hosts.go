package inject

import (
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// serviceHostnames are the names a client may dial s by from a pod in
// podNamespace, as the cluster's DNS resolves them: svc.ns.svc.<domain>,
// svc.ns.svc, svc.ns, and svc alone when s is in the pod's namespace.
func serviceHostnames(s *service, podNamespace, domain string) []string {
	qualified := s.name + "." + s.namespace
	names := []string{qualified + ".svc." + domain, qualified + ".svc", qualified}
	if s.namespace == podNamespace {
		names = append(names, s.name)
	}
	return names
}

// hostAliases maps each Service's names to its loopback address, one entry
// per Service, and adds a problem for every one of those names the pod
// already maps: the pod's own entry would decide where the name goes.
func hostAliases(pod *corev1.Pod, services []*service, podNamespace, domain string, probs *problems) []corev1.HostAlias {
	type mapping struct{ field, ip string }
	mapped := map[string]mapping{}
	for i, ha := range pod.Spec.HostAliases {
		for j, h := range ha.Hostnames {
			field := "spec.hostAliases[" + strconv.Itoa(i) + "].hostnames[" + strconv.Itoa(j) + "]"
			mapped[strings.ToLower(h)] = mapping{field, ha.IP}
		}
	}
	var out []corev1.HostAlias
	for _, s := range services {
		names := serviceHostnames(s, podNamespace, domain)
		for _, n := range names {
			if m, ok := mapped[n]; ok {
				probs.addField(m.field, "hostname %q is already mapped to %s, but upstream %q needs it mapped to the agent at %s; "+
					"remove the pod's entry, or give the upstream =listen so that the Service's names are left alone",
					n, m.ip, s.entry, s.ip)
			}
		}
		out = append(out, corev1.HostAlias{IP: s.ip.String(), Hostnames: names})
	}
	return out
}

// hostAliasIPs are the addresses the pod's own hostAliases map names to; no
// Service gets one of them.
func hostAliasIPs(pod *corev1.Pod) map[netip.Addr]bool {
	ips := map[netip.Addr]bool{}
	for _, ha := range pod.Spec.HostAliases {
		if ip, err := netip.ParseAddr(ha.IP); err == nil {
			ips[ip] = true
		}
	}
	return ips
}
