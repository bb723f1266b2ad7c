// Package netns runs a test binary inside a private network namespace in
// which all of 10.244.0.0/24 is local, so that tests can bind the pod-like
// addresses the Kubernetes API server accepts in EndpointSlices (it rejects
// loopback ones), and no packet leaves the namespace.
//
// A package opts in from TestMain (ReexecFunc when TestMain has more to do),
// and each test that needs the namespace calls Require:
//
//	func TestMain(m *testing.M) { netns.Reexec(m) }
//
//	func TestX(t *testing.T) { netns.Require(t); ... }
//
// The namespace has no route out: everything fetched from the network must
// be fetched before the binary runs.
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// marker is set in the environment of the binary running inside.
const marker = "ROUNDABOUT_NETNS"

// CIDR is the network local to the namespace; PodIP(n) is 10.244.0.n.
const CIDR = "10.244.0.0/24"

// setup brings up loopback inside the namespace, makes CIDR local on it and
// adds the default route kube-apiserver needs to pick an advertise address.
const setup = `ip link set lo up && ip addr add 10.244.0.1/24 dev lo && ip route add default dev lo`

// nodeSetup makes the namespace a node: only NodeIP is local, and packets
// for other addresses of CIDR are forwarded, so each pod can have a network
// namespace of its own, reached through a route the pod runner adds.
const nodeSetup = `ip link set lo up && ip addr add 10.244.0.1/32 dev lo && ip route add default dev lo && ` +
	`echo 1 > /proc/sys/net/ipv4/ip_forward`

// NodeIP is the node's address in node mode, and the first address of CIDR.
const NodeIP = "10.244.0.1"

// modeMarker records, for the binary inside, which setup made its namespace.
const modeMarker = "ROUNDABOUT_NETNS_MODE"

// skipReason is why Require skips; empty inside the namespace.
var skipReason string

// Reexec runs the tests inside the namespace and exits with their code. In
// the binary that is already inside, it runs m. When the namespace cannot be
// made (no unshare or ip, or no permission), the tests run in place and
// Require skips them, saying why.
func Reexec(m *testing.M) { ReexecFunc(m.Run) }

// ReexecFunc is Reexec for a TestMain that does more than m.Run, such as
// stopping what its tests shared: run is called where m.Run would be, and
// its result is the exit code.
func ReexecFunc(run func() int) { reexec(run, setup) }

// ReexecNode is ReexecFunc for a namespace in node mode: only NodeIP is
// local and IPv4 forwarding is on, for binaries that give each pod a
// network namespace of its own and route to it (test/podrunner).
func ReexecNode(run func() int) { reexec(run, nodeSetup) }

func reexec(run func() int, script string) {
	if Inside() {
		os.Exit(run())
	}
	if err := probe(script); err != nil {
		skipReason = err.Error()
		os.Exit(run())
	}
	os.Exit(runInside(script))
}

// NodeMode reports whether this process runs in a namespace ReexecNode made.
func NodeMode() bool { return Inside() && os.Getenv(modeMarker) == "node" }

// Inside reports whether this process runs in the namespace Reexec made.
func Inside() bool { return os.Getenv(marker) == "1" }

// Require skips t unless it runs inside the namespace.
func Require(t testing.TB) {
	t.Helper()
	if Inside() {
		return
	}
	if skipReason == "" {
		skipReason = "the package's TestMain does not call netns.Reexec"
	}
	t.Skipf("needs a private network namespace with %s local: %s", CIDR, skipReason)
}

// AddAddr adds cidr to the namespace's loopback, for example an IPv6
// address such as "fd00:10:244::11/128": only CIDR is local from the start.
// Duplicate address detection is skipped, and AddAddr returns once the
// address takes a connection from itself. The address is removed when t
// ends, so a test that adds one can run again in the same binary
// (go test -count=2).
func AddAddr(t testing.TB, cidr string) {
	t.Helper()
	Require(t)
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		t.Fatalf("AddAddr(%q): %v", cidr, err)
	}
	out, err := exec.Command("ip", "addr", "add", cidr, "dev", "lo", "nodad").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr add %s dev lo: %v: %s", cidr, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		out, err := exec.Command("ip", "addr", "del", cidr, "dev", "lo").CombinedOutput()
		if err != nil {
			t.Errorf("ip addr del %s dev lo: %v: %s", cidr, err, strings.TrimSpace(string(out)))
		}
	})
	waitConnectable(t, prefix.Addr())
}

// waitConnectable returns once a TCP connection from ip to itself succeeds.
// In a namespace made moments before, a connection to a new IPv6 address
// can fail with "network is unreachable" for about a second.
func waitConnectable(t testing.TB, ip netip.Addr) {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s takes no connection: %v", ip, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PodIP returns 10.244.0.n, an address local to the namespace.
func PodIP(n int) string { return fmt.Sprintf("10.244.0.%d", n) }

// probe makes a namespace once with nothing in it, to find out whether the
// real run can.
func probe(script string) error {
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH (install util-linux and iproute2)", tool)
		}
	}
	var stderr bytes.Buffer
	cmd := command(script, "true")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("unshare --net --map-root-user --mount --pid with %q failed: %v: %s",
			script, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// runInside re-executes this test binary, with the same arguments, inside
// a new namespace and returns its exit code.
func runInside(script string) int {
	cmd := command(script, os.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	mode := "local"
	if script == nodeSetup {
		mode = "node"
	}
	cmd.Env = append(os.Environ(), marker+"=1", modeMarker+"="+mode)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "netns: running %s in a network namespace: %v\n", os.Args[0], err)
		return 1
	}
}

// command runs argv inside new network, mount and PID namespaces after
// script. argv is the first process of its PID namespace, so when it exits,
// even by a test timeout, the kernel kills everything it started (an API
// server, etcd); unshare kills it when unshare dies, and unshare dies with
// this process.
func command(script string, argv ...string) *exec.Cmd {
	args := append([]string{"--net", "--map-root-user", "--mount", "--pid", "--kill-child",
		"sh", "-c", script + ` && exec "$0" "$@"`}, argv...)
	cmd := exec.Command("unshare", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
