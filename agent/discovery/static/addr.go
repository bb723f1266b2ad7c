package static

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParseAddr checks that s is host:port, with an IPv4 address, a bracketed
// IPv6 address or a DNS hostname as host and a port from 1 to 65535, and
// returns it in canonical form: IPv6 compressed, hostname lower-cased,
// port without leading zeros. The error names s.
func ParseAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", fmt.Errorf("endpoint %q: %s", s, ae.Err)
		}
		return "", fmt.Errorf("endpoint %q: %w", s, err)
	}
	p, err := parsePort(port)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", s, err)
	}
	h, err := parseHost(host)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", s, err)
	}
	return net.JoinHostPort(h, strconv.Itoa(p)), nil
}

// ParseAddrs parses each entry with ParseAddr and returns the canonical
// addresses deduplicated and sorted. The error names the first bad entry.
func ParseAddrs(entries []string) ([]string, error) {
	addrs := make([]string, 0, len(entries))
	for _, e := range entries {
		a, err := ParseAddr(e)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	return slices.Compact(addrs), nil
}

func parsePort(port string) (int, error) {
	if port == "" {
		return 0, errors.New("missing port")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return int(p), nil
}

func parseHost(host string) (string, error) {
	if host == "" {
		return "", errors.New("missing host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.String(), nil
	}
	if !validHostname(host) {
		return "", fmt.Errorf("host %q is neither an IP address nor a valid DNS name", host)
	}
	return strings.ToLower(host), nil
}

// validHostname reports whether h is a DNS name of RFC 1123 labels, with
// an optional trailing dot. A last label of digits only is refused: such a
// name is a mistyped IPv4 address, not a hostname.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	return !allDigits(labels[len(labels)-1])
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range []byte(l) {
		if !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}
