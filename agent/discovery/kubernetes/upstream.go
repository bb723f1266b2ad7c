package kubernetes

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Upstream is a Service port the agent proxies to.
type Upstream struct {
	// Service is the Service name.
	Service string
	// Namespace is the Service's namespace.
	Namespace string
	// Port is a port number ("50051") or a port name ("grpc"). It is
	// empty for a Service whose pods, not ports, are followed (NewPeers):
	// its endpoints are then bare IP addresses.
	Port string
}

// String is the upstream as written on the command line:
// service.namespace:port, or service.namespace without a port.
func (u Upstream) String() string {
	if u.Port == "" {
		return u.Service + "." + u.Namespace
	}
	return net.JoinHostPort(u.Service+"."+u.Namespace, u.Port)
}

// ParseUpstream parses service[.namespace]:port. The namespace defaults to
// defaultNamespace; port is a number from 1 to 65535 or a port name. The
// error names the part that is wrong.
func ParseUpstream(s, defaultNamespace string) (Upstream, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Upstream{}, fmt.Errorf("upstream %q: want service[.namespace]:port", s)
	}
	up := Upstream{Port: port}
	up.Service, up.Namespace, _ = strings.Cut(host, ".")
	if up.Namespace == "" {
		up.Namespace = defaultNamespace
	}
	if err := up.validate(); err != nil {
		return Upstream{}, fmt.Errorf("upstream %q: %w", s, err)
	}
	return up, nil
}

func (u Upstream) validate() error {
	if errs := validation.IsDNS1035Label(u.Service); len(errs) > 0 {
		return fmt.Errorf("service %q: %s", u.Service, strings.Join(errs, "; "))
	}
	if u.Namespace == "" {
		return errors.New("no namespace: write service.namespace:port or set POD_NAMESPACE")
	}
	if errs := validation.IsDNS1123Label(u.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", u.Namespace, strings.Join(errs, "; "))
	}
	return validatePort(u.Port)
}

// validatePort accepts a port number or an IANA_SVC_NAME, the form of a
// Service port name.
func validatePort(port string) error {
	if port == "" {
		return errors.New("port is empty")
	}
	if isDigits(port) {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s: must be from 1 to 65535", port)
		}
		return nil
	}
	if errs := validation.IsValidPortName(port); len(errs) > 0 {
		return fmt.Errorf("port name %q: %s", port, strings.Join(errs, "; "))
	}
	return nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
