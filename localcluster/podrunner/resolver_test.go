package podrunner

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"
)

// lookupProbeEnv, set in the environment of the test binary, makes it a
// resolver probe instead of running tests (see TestMain): it looks up each
// name of the variable's space-separated list with net.DefaultResolver and
// prints one line per name.
const lookupProbeEnv = "PODRUNNER_LOOKUP_PROBE"

// lookupProbe resolves names with Go's default resolver and prints
// "lookup <name> <addr,addr,...|-> <error|->" for each.
func lookupProbe(names string) int {
	for _, name := range strings.Fields(names) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		addrs, err := net.DefaultResolver.LookupHost(ctx, name)
		cancel()
		got, why := "-", "-"
		if len(addrs) > 0 {
			got = strings.Join(addrs, ",")
		}
		if err != nil {
			why = strings.ReplaceAll(err.Error(), " ", "_")
		}
		fmt.Printf("lookup %s %s %s\n", name, got, why)
	}
	return 0
}

// The cluster the resolver test pretends to have: the names a client dials,
// what the cluster DNS answers for them, and the loopback address the
// webhook's hostAliases give the upstream.
const (
	aliasIP     = "127.0.2.1"
	clusterIP   = "10.96.0.20"
	headlessIP  = "10.244.0.77"
	serviceFQDN = "greetserver.greet.svc.cluster.local"
	otherFQDN   = "greetserver-headless.greet.svc.cluster.local"
)

// serveClusterDNS answers A queries for serviceFQDN with clusterIP and for
// otherFQDN with headlessIP, on NodeIP:53 over UDP, as CoreDNS would; any
// other name is NXDOMAIN. It stops when the test ends.
func serveClusterDNS(t *testing.T) {
	t.Helper()
	records := map[string]string{serviceFQDN + ".": clusterIP, otherFQDN + ".": headlessIP}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		ip, ok := records[strings.ToLower(q.Name)]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA,
				Class: dns.ClassINET, Ttl: 5}, A: net.ParseIP(ip)})
		}
		_ = w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{Addr: net.JoinHostPort(netns.NodeIP, "53"), Net: "udp", Handler: mux,
		NotifyStartedFunc: func() { close(started) }}
	failed := make(chan error, 1)
	go func() { failed <- srv.ListenAndServe() }()
	select {
	case <-started:
	case err := <-failed:
		t.Fatalf("cluster DNS on %s: %v", srv.Addr, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("cluster DNS on %s did not start within 5s", srv.Addr)
	}
	t.Cleanup(func() { _ = srv.Shutdown() })
}

// resolverSandbox makes a sandbox for 10.244.0.<n> whose resolv.conf is a
// pod's of namespace greet, pointing at the node's DNS, and whose
// /etc/hosts has aliases.
func resolverSandbox(t *testing.T, n int, aliases []corev1.HostAlias) *Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ip, host := netns.PodIP(n), fmt.Sprintf("client-%d", n)
	s, err := NewSandbox(ctx, SandboxConfig{Dir: t.TempDir(), IP: ip, Gateway: netns.NodeIP,
		HostIface: fmt.Sprintf("rbtest%d", n), Hostname: host,
		ResolvConf: []byte("search greet.svc.cluster.local svc.cluster.local cluster.local\nnameserver " +
			netns.NodeIP + "\noptions ndots:5\n"),
		Hosts: HostsFile(ip, host, "", aliases)}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("NewSandbox(%s): %v", ip, err)
	}
	t.Cleanup(func() { _ = s.Destroy() })
	return s
}

// probeInPod runs this test binary as a lookup probe in the sandbox's
// network, mount and UTS namespaces with GODEBUG=netdns=<mode>, and returns
// the addresses it resolved per name and the resolver's debug output.
func probeInPod(t *testing.T, s *Sandbox, mode string, names ...string) (map[string]string, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", "-t", s.pidArg(), "-n", "-m", "-u", "--", self)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GODEBUG=netdns=" + mode,
		lookupProbeEnv + "=" + strings.Join(names, " ")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe in pod %s (netdns=%s): %v\n%s%s", s.cfg.IP, mode, err, out, stderr.String())
	}
	got := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "lookup" {
			got[f[1]] = f[2]
			if f[3] != "-" {
				got[f[1]] += " (" + f[3] + ")"
			}
		}
	}
	return got, stderr.String()
}

// TestGoResolverReadsHostAliases runs Go's net.DefaultResolver in two pods
// whose resolv.conf points at a cluster DNS that answers the Service name
// with its ClusterIP: one pod has the hostAliases the webhook adds, the
// other has none, as when injection did not happen. It does so with the
// pure Go resolver, with the cgo one (glibc's getaddrinfo) when the test
// binary has cgo, and with Go's default choice. In the pod with aliases
// every name of the Service resolves to the alias IP from /etc/hosts; in
// the other the same names resolve through DNS to the ClusterIP. A name
// with no alias resolves through DNS in both, which shows the pods do ask
// the DNS server.
func TestGoResolverReadsHostAliases(t *testing.T) {
	netnstest.Require(t)
	if !netns.NodeMode() {
		t.Skip("needs the node namespace of netns.ReexecNode")
	}
	serveClusterDNS(t)
	names := []string{serviceFQDN, "greetserver.greet.svc", "greetserver.greet", "greetserver"}
	aliased := resolverSandbox(t, 20, []corev1.HostAlias{{IP: aliasIP, Hostnames: names}})
	plain := resolverSandbox(t, 21, nil)
	if out, err := inPod(aliased, []string{"-m"}, "cat", "/etc/hosts"); err != nil ||
		!strings.HasSuffix(out, "\n# Entries added by HostAliases.\n"+aliasIP+"\t"+strings.Join(names, "\t")+"\n") {
		t.Fatalf("/etc/hosts in the pod (%v):\n%s", err, out)
	}
	for _, mode := range []string{"go+2", "cgo+2", "2"} {
		t.Run("netdns="+mode, func(t *testing.T) {
			got, debug := probeInPod(t, aliased, mode, append(names, otherFQDN)...)
			if mode == "cgo+2" && strings.Contains(debug, "compiled without support for the cgo resolver") {
				t.Skip("the test binary has no cgo resolver (CGO_ENABLED=0)")
			}
			t.Logf("resolver: %s", resolverUsed(debug))
			for _, n := range names {
				if got[n] != aliasIP {
					t.Errorf("with hostAliases, %s resolved to %q, want %s from /etc/hosts\n%s", n, got[n], aliasIP, debug)
				}
			}
			if got[otherFQDN] != headlessIP {
				t.Errorf("with hostAliases, %s (no alias) resolved to %q, want %s from DNS", otherFQDN, got[otherFQDN], headlessIP)
			}
			viaDNS, debug := probeInPod(t, plain, mode, names...)
			for _, n := range names {
				t.Logf("%-36s with hostAliases %-11s without %s", n, got[n], viaDNS[n])
			}
			got = viaDNS
			for _, n := range names {
				if got[n] != clusterIP {
					t.Errorf("without hostAliases, %s resolved to %q, want the ClusterIP %s from DNS\n%s", n, got[n], clusterIP, debug)
				}
			}
			if mode == "cgo+2" && !strings.Contains(debug, ") = cgo") {
				t.Errorf("GODEBUG=netdns=cgo did not resolve through cgo:\n%s", debug)
			}
		})
	}
}

// resolverUsed picks from GODEBUG=netdns=2 output the resolver chosen and
// the lookup order of the first name.
func resolverUsed(debug string) string {
	var parts []string
	for line := range strings.Lines(debug) {
		line = strings.TrimPrefix(strings.TrimSpace(line), "go package net: ")
		if strings.Contains(line, "resolver") || strings.HasPrefix(line, "hostLookupOrder(") {
			parts = append(parts, line)
			if strings.HasPrefix(line, "hostLookupOrder(") {
				break
			}
		}
	}
	return strings.Join(parts, "; ")
}
