package inject

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// upstreamSyntax is the accepted form of one upstream entry, for messages.
const upstreamSyntax = "want service[.namespace]:port[=listen], comma-separated, where port is 1-65535 " +
	"and listen is a port or loopback-ip:port (default " + annotations.DefaultListenHost + ":<port>)"

// upstream is one service the agent balances, and where it serves it.
type upstream struct {
	// target is service[.namespace]:port, as the agent's --upstream takes it.
	target string
	// listen is the loopback host:port the agent serves the upstream on.
	listen string
	// listenPort is listen's port.
	listenPort int32
}

// parseUpstreams parses the upstream annotation's value, adding a problem
// for every bad entry and every listen address used twice.
func parseUpstreams(value string, probs *problems) []upstream {
	if strings.TrimSpace(value) == "" {
		probs.add(annotations.Upstream, value, "required when injecting; %s", upstreamSyntax)
		return nil
	}
	var ups []upstream
	seen := map[string]string{}
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimSpace(entry)
		u, problem := parseUpstream(entry)
		switch {
		case problem != "":
			probs.add(annotations.Upstream, value, "entry %q: %s; %s", entry, problem, upstreamSyntax)
		case seen[u.listen] != "":
			probs.add(annotations.Upstream, value, "entries %q and %q both listen on %s; give one of them another port with =listen",
				seen[u.listen], entry, u.listen)
		default:
			seen[u.listen] = entry
			ups = append(ups, u)
		}
	}
	return ups
}

// parseUpstream parses one service[.namespace]:port[=listen] entry; the
// returned problem is empty when it is valid.
func parseUpstream(entry string) (upstream, string) {
	target, listen, hasListen := strings.Cut(entry, "=")
	port, problem := parseTarget(target)
	if problem != "" {
		return upstream{}, problem
	}
	if !hasListen {
		return upstream{target: target, listen: loopbackAddr(annotations.DefaultListenHost, port), listenPort: port}, ""
	}
	addr, lport, problem := parseListen(listen)
	if problem != "" {
		return upstream{}, problem
	}
	return upstream{target: target, listen: addr, listenPort: lport}, ""
}

// parseTarget checks service[.namespace]:port and returns the port.
func parseTarget(target string) (int32, string) {
	host, portText, err := net.SplitHostPort(target)
	if err != nil {
		return 0, "not service[.namespace]:port"
	}
	service, namespace, hasNamespace := strings.Cut(host, ".")
	if errs := validation.IsDNS1035Label(service); len(errs) > 0 {
		return 0, "service name " + strconv.Quote(service) + ": " + errs[0]
	}
	if hasNamespace {
		if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
			return 0, "namespace " + strconv.Quote(namespace) + ": " + errs[0]
		}
	}
	return parsePort(portText)
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
