package inject

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// upstreamSyntax is the accepted form of one upstream entry, for messages.
const upstreamSyntax = "want service[.namespace]:port[=listen], comma-separated, where port is 1-65535 " +
	"and listen is a port or loopback-ip:port; without =listen the Service keeps its name and is served on " +
	annotations.ServiceLoopbackPrefix + "N:port"

// maxServices is how many Services keep their names in one pod: one
// loopback address each, ServiceLoopbackPrefix + 1 to 254.
const maxServices = 254

// upstream is one service the agent balances, and where it serves it.
type upstream struct {
	// entry is the annotation's entry, as written.
	entry string
	// target is service[.namespace]:port, as the agent's --upstream takes
	// it; service.namespace:port for an entry that keeps the name.
	target string
	// listen is the loopback host:port the agent serves the upstream on.
	listen string
	// listenPort is listen's port.
	listenPort int32
	// svc is the Service whose names the pod keeps, nil for an entry with
	// =listen.
	svc *service
}

// service is a Service whose names the pod keeps: the agent serves it on ip,
// and the pod's hostAliases map the Service's names there.
type service struct {
	name, namespace string
	ip              netip.Addr
	// entry is the first upstream entry that names the Service.
	entry string
}

// parseUpstreams parses the upstream annotation's value, adding a problem
// for every bad entry and every listen address used twice. An entry without
// =listen is served on a loopback address of its own per Service: the n-th
// distinct Service gets ServiceLoopbackPrefix + n, skipping the addresses in
// used (those the pod's hostAliases map, for example). podNamespace is the
// namespace of an entry that names none; from, when not empty, says where
// the value comes from, for messages.
func parseUpstreams(value, podNamespace, from string, used map[netip.Addr]bool, probs *problems) ([]upstream, []*service) {
	if strings.TrimSpace(value) == "" {
		probs.add(annotations.Upstream, value, "%srequired when injecting; %s", from, upstreamSyntax)
		return nil, nil
	}
	var ups []upstream
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimSpace(entry)
		u, problem := parseUpstream(entry, podNamespace)
		if problem != "" {
			probs.add(annotations.Upstream, value, "%sentry %q: %s; %s", from, entry, problem, upstreamSyntax)
			continue
		}
		ups = append(ups, u)
	}
	reserved := map[netip.Addr]bool{}
	for ip := range used {
		reserved[ip] = true
	}
	for _, u := range ups {
		if u.svc == nil {
			if ap, err := netip.ParseAddrPort(u.listen); err == nil {
				reserved[ap.Addr()] = true
			}
		}
	}
	services, ok := assignLoopback(ups, reserved)
	if !ok {
		probs.add(annotations.Upstream, value, "%s%d Services keep their names, more than the %d loopback addresses %s1-%d; give the others =listen",
			from, len(services), maxServices, annotations.ServiceLoopbackPrefix, maxServices)
		return nil, nil
	}
	seen := map[string]string{}
	var out []upstream
	for _, u := range ups {
		if first := seen[u.listen]; first != "" {
			probs.add(annotations.Upstream, value, "%sentries %q and %q both listen on %s; give one of them another port with =listen",
				from, first, u.entry, u.listen)
			continue
		}
		seen[u.listen] = u.entry
		out = append(out, u)
	}
	return out, services
}

// assignLoopback gives every Service named by an entry without =listen its
// loopback address, in order of first appearance, skipping reserved ones,
// and sets those entries' listen addresses. It reports false, with the
// Services found, when there are more than the addresses available.
func assignLoopback(ups []upstream, reserved map[netip.Addr]bool) ([]*service, bool) {
	byName := map[string]*service{}
	var services []*service
	next := 1
	for i := range ups {
		u := &ups[i]
		if u.svc == nil {
			continue
		}
		key := u.svc.name + "." + u.svc.namespace
		s := byName[key]
		if s == nil {
			s = u.svc
			for ; next <= maxServices && reserved[serviceIP(next)]; next++ {
			}
			if next <= maxServices {
				s.ip = serviceIP(next)
				next++
			}
			byName[key] = s
			services = append(services, s)
		}
		u.svc = s
		u.listen = loopbackAddr(s.ip.String(), u.listenPort)
	}
	for _, s := range services {
		if !s.ip.IsValid() {
			return services, false
		}
	}
	return services, true
}

func serviceIP(n int) netip.Addr {
	return netip.MustParseAddr(annotations.ServiceLoopbackPrefix + strconv.Itoa(n))
}

// parseUpstream parses one service[.namespace]:port[=listen] entry; the
// returned problem is empty when it is valid. An entry without =listen
// comes back with svc set and no listen address yet.
func parseUpstream(entry, podNamespace string) (upstream, string) {
	target, listen, hasListen := strings.Cut(entry, "=")
	name, namespace, port, problem := parseTarget(target)
	if problem != "" {
		return upstream{}, problem
	}
	if !hasListen {
		if namespace == "" {
			namespace = podNamespace
		}
		return upstream{
			entry:      entry,
			target:     fmt.Sprintf("%s.%s:%d", name, namespace, port),
			listenPort: port,
			svc:        &service{name: name, namespace: namespace, entry: entry},
		}, ""
	}
	addr, lport, problem := parseListen(listen)
	if problem != "" {
		return upstream{}, problem
	}
	return upstream{entry: entry, target: target, listen: addr, listenPort: lport}, ""
}

// parseTarget checks service[.namespace]:port and returns its parts; the
// namespace is empty when the entry names none.
func parseTarget(target string) (name, namespace string, port int32, problem string) {
	host, portText, err := net.SplitHostPort(target)
	if err != nil {
		return "", "", 0, "not service[.namespace]:port"
	}
	name, namespace, hasNamespace := strings.Cut(host, ".")
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return "", "", 0, "service name " + strconv.Quote(name) + ": " + errs[0]
	}
	if hasNamespace {
		if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
			return "", "", 0, "namespace " + strconv.Quote(namespace) + ": " + errs[0]
		}
	}
	port, problem = parsePort(portText)
	return name, namespace, port, problem
}

// parseListen accepts a port or loopback-ip:port.
func parseListen(listen string) (string, int32, string) {
	if !strings.Contains(listen, ":") {
		port, problem := parsePort(listen)
		return loopbackAddr(annotations.DefaultListenHost, port), port, problem
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, "listen " + strconv.Quote(listen) + " is not a port or loopback-ip:port"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return "", 0, "listen host " + strconv.Quote(host) + " is not a loopback IP address; the proxy listens on loopback only"
	}
	port, problem := parsePort(portText)
	return loopbackAddr(ip.String(), port), port, problem
}

func parsePort(text string) (int32, string) {
	port, err := strconv.ParseUint(text, 10, 16)
	if err != nil || port == 0 {
		return 0, "port " + strconv.Quote(text) + " is not a number from 1 to 65535"
	}
	return int32(port), ""
}

func loopbackAddr(host string, port int32) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
