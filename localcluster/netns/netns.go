// Package netns runs a process inside a private network, mount and PID
// namespace in which all of 10.244.0.0/24 is local, so that it can bind the
// pod-like addresses the Kubernetes API server accepts in EndpointSlices (it
// rejects loopback ones), and no packet leaves the namespace. In node mode
// (ReexecNode) only NodeIP is local and the pod runner gives each pod a
// network namespace of its own.
//
// A command opts in from main with ReexecFunc or ReexecNode; tests use the
// wrappers in netnstest:
//
//	func TestMain(m *testing.M) { netnstest.Reexec(m) }
//
//	func TestX(t *testing.T) { netnstest.Require(t); ... }
//
// The namespace has no route out: everything fetched from the network must
// be fetched before the process re-executes itself.
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

// ReexecFunc runs run inside the namespace and exits with its result as
// the exit code: the process re-executes itself, with the same arguments,
// inside a new namespace, and run is called in the copy that is inside.
// When the namespace cannot be made (no unshare or ip, or no permission),
// run is called in place and Unavailable says why.
func ReexecFunc(run func() int) { reexec(run, setup) }

// ReexecNode is ReexecFunc for a namespace in node mode: only NodeIP is
// local and IPv4 forwarding is on, for binaries that give each pod a
// network namespace of its own and route to it (localcluster/podrunner).
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

// Unavailable says why this process is not inside the namespace, or ""
// when it is.
func Unavailable() string {
	switch {
	case Inside():
		return ""
	case skipReason != "":
		return skipReason
	default:
		return "the process did not call netns.ReexecFunc"
	}
}

// AddAddr adds cidr to the namespace's loopback, for example an IPv6
// address such as "fd00:10:244::11/128": only CIDR is local from the start.
// Duplicate address detection is skipped, and AddAddr returns once the
// address takes a connection from itself. The returned function removes
// the address again.
func AddAddr(cidr string) (remove func() error, err error) {
	if !Inside() {
		return nil, fmt.Errorf("add %s: not inside the network namespace: %s", cidr, Unavailable())
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("add address: %w", err)
	}
	if out, err := exec.Command("ip", "addr", "add", cidr, "dev", "lo", "nodad").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip addr add %s dev lo: %v: %s", cidr, err, strings.TrimSpace(string(out)))
	}
	remove = func() error {
		out, err := exec.Command("ip", "addr", "del", cidr, "dev", "lo").CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip addr del %s dev lo: %v: %s", cidr, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := waitConnectable(prefix.Addr()); err != nil {
		remove()
		return nil, err
	}
	return remove, nil
}

// waitConnectable returns once a TCP connection from ip to itself succeeds.
// In a namespace made moments before, a connection to a new IPv6 address
// can fail with "network is unreachable" for about a second.
func waitConnectable(ip netip.Addr) error {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", ip, err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s takes no connection: %w", ip, err)
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
