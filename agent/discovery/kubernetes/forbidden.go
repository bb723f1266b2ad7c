package kubernetes

import (
	"fmt"
	"regexp"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// ClusterRole is the ClusterRole that grants what the agent reads: get,
// list and watch on endpointslices (deploy/base/agent-rbac.yaml). A
// RoleBinding to it in an upstream's namespace lets the agent follow the
// Services there.
const ClusterRole = "roundabout-agent"

// sliceResource is the resource the agent reads, as RBAC names it.
const sliceResource = "endpointslices." + discoveryv1.GroupName

// ForbiddenError is a list or watch of an upstream's EndpointSlices that
// the API server refused: the agent's identity has no RoleBinding to
// ClusterRole in the upstream's namespace.
type ForbiddenError struct {
	// Verb is the refused verb: list or watch.
	Verb string
	// Resource is endpointslices.discovery.k8s.io.
	Resource string
	// Namespace is the upstream's namespace, where the RoleBinding belongs.
	Namespace string
	// User is the agent's identity as the API server named it, such as
	// system:serviceaccount:app:client; empty when the refusal did not say.
	User string
	err  error
}

// refusal matches the API server's authorization message:
// User "<user>" cannot <verb> resource "<resource>" in API group ...
var refusal = regexp.MustCompile(`User "([^"]*)" cannot ([a-z]+) resource`)

// newForbiddenError describes err, a refusal of a call with verb, taking
// the user and the verb from the API server's message when it has them.
func newForbiddenError(up Upstream, verb string, err error) *ForbiddenError {
	e := &ForbiddenError{Verb: verb, Resource: sliceResource, Namespace: up.Namespace, err: err}
	if m := refusal.FindStringSubmatch(err.Error()); m != nil {
		e.User, e.Verb = m[1], m[2]
	}
	if e.Verb == "" {
		e.Verb = "list"
	}
	return e
}

func (e *ForbiddenError) Error() string {
	as := ""
	if e.User != "" {
		as = fmt.Sprintf(" as %q", e.User)
	}
	return fmt.Sprintf("forbidden to %s %s in namespace %q%s: the agent needs get, list and watch on them there; "+
		"create the RoleBinding with: %s", e.Verb, e.Resource, e.Namespace, as, e.Grant())
}

func (e *ForbiddenError) Unwrap() error { return e.err }

// serviceAccountUser is the prefix of a service account's user name:
// system:serviceaccount:<namespace>:<name>.
const serviceAccountUser = "system:serviceaccount:"

// Grant is the kubectl command that creates the missing RoleBinding: the
// agent's identity bound to ClusterRole in the upstream's namespace. When
// the refusal did not name the identity, the command has placeholders for
// the pod's namespace and service account.
func (e *ForbiddenError) Grant() string {
	name, subject := ClusterRole, "--serviceaccount=<pod-namespace>:<service-account>"
	if sa, ok := strings.CutPrefix(e.User, serviceAccountUser); ok && strings.Count(sa, ":") == 1 {
		name, subject = ClusterRole+"-"+strings.ReplaceAll(sa, ":", "-"), "--serviceaccount="+sa
	} else if e.User != "" {
		name, subject = ClusterRole+"-"+objectName(e.User), "--user="+shellWord(e.User)
	}
	return fmt.Sprintf("kubectl create rolebinding %s -n %s --clusterrole=%s %s", name, e.Namespace, ClusterRole, subject)
}

// objectName turns a user name into a lower-case name suffix of letters,
// digits, '-' and '.'.
func objectName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
	return strings.Trim(s, "-.")
}

// shellWord quotes s for a POSIX shell when it has characters a shell
// would interpret.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
