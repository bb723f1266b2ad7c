package annotations

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is an annotation whose value the contract does not allow.
type Error struct {
	// Key is the annotation's full name, such as Strategy.
	Key string
	// Value is the annotation's value as written.
	Value string
	// Problem says what is wrong with Value and what is allowed.
	Problem string
}

func (e *Error) Error() string {
	return fmt.Sprintf("annotation %s=%q: %s", e.Key, e.Value, e.Problem)
}

// ValidInject reports whether value is allowed for Inject: InjectEnabled
// or InjectDisabled. The error is an *Error.
func ValidInject(value string) error {
	if value == InjectEnabled || value == InjectDisabled {
		return nil
	}
	return &Error{Key: Inject, Value: value,
		Problem: "allowed values are " + strconv.Quote(InjectEnabled) + " and " + strconv.Quote(InjectDisabled)}
}

// ValidStrategy reports whether name is one of Strategies. The error is an
// *Error listing the allowed names.
func ValidStrategy(name string) error {
	if slices.Contains(Strategies(), name) {
		return nil
	}
	return &Error{Key: Strategy, Value: name, Problem: "not a strategy; allowed: " + strings.Join(Strategies(), ", ")}
}

// ValidLogLevel reports whether level is one of LogLevels. The error is an
// *Error listing the allowed levels.
func ValidLogLevel(level string) error {
	if slices.Contains(LogLevels(), level) {
		return nil
	}
	return &Error{Key: LogLevel, Value: level, Problem: "allowed: " + strings.Join(LogLevels(), ", ")}
}

// ValidHashHeader reports whether name is allowed as the HashHeader
// annotation and as the agent's --hash-header flag: a header name gRPC
// accepts as a metadata key, made of ASCII letters, digits, '-', '_' and
// '.'. That excludes HTTP/2 pseudo-headers. Both sides lower-case the name
// after this check, as HTTP/2 carries header names in lower case. The error
// is an *Error.
func ValidHashHeader(name string) error {
	if name == "" {
		return &Error{Key: HashHeader, Value: name, Problem: "empty; " + hashHeaderAllowed}
	}
	if strings.ContainsFunc(name, invalidHeaderRune) {
		return &Error{Key: HashHeader, Value: name, Problem: "not a header name; " + hashHeaderAllowed}
	}
	return nil
}

const hashHeaderAllowed = "allowed characters are a-z, A-Z (lower-cased), 0-9, '-', '_' and '.', such as x-user-id"

func invalidHeaderRune(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.'
}

// ValidNativeSidecar reports whether value is allowed for NativeSidecar:
// NativeSidecarTrue or NativeSidecarFalse. The error is an *Error.
func ValidNativeSidecar(value string) error {
	if value == NativeSidecarTrue || value == NativeSidecarFalse {
		return nil
	}
	return &Error{Key: NativeSidecar, Value: value,
		Problem: "allowed values are " + strconv.Quote(NativeSidecarTrue) + " and " + strconv.Quote(NativeSidecarFalse)}
}

// ParseSubsetSize parses a SubsetSize value: a whole number from 0 to
// MaxSubsetSize, 0 meaning every endpoint. The error is an *Error.
func ParseSubsetSize(value string) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 || n > MaxSubsetSize {
		return 0, &Error{Key: SubsetSize, Value: value,
			Problem: "want a whole number from 0 to " + strconv.Itoa(MaxSubsetSize) + "; 0 means every endpoint"}
	}
	return n, nil
}

// ValidSubsetSize reports whether value is allowed for SubsetSize. The
// error is an *Error.
func ValidSubsetSize(value string) error {
	_, err := ParseSubsetSize(value)
	return err
}

// ParseSubsetID parses a SubsetID value, "i/C" with 0 <= i < C: client i
// of C. The error is an *Error.
func ParseSubsetID(value string) (i, c int, err error) {
	is, cs, ok := strings.Cut(value, "/")
	i, ierr := strconv.Atoi(is)
	c, cerr := strconv.Atoi(cs)
	switch {
	case !ok || ierr != nil || cerr != nil || strings.HasPrefix(is, "+") || strings.HasPrefix(cs, "+"):
		return 0, 0, &Error{Key: SubsetID, Value: value, Problem: "want i/C, client i of C, such as 3/10"}
	case c < 1:
		return 0, 0, &Error{Key: SubsetID, Value: value, Problem: "C, the number of clients, must be at least 1"}
	case i < 0 || i >= c:
		return 0, 0, &Error{Key: SubsetID, Value: value, Problem: "i must be from 0 to C-1 (" + strconv.Itoa(c-1) + ")"}
	}
	return i, c, nil
}

// ValidSubsetID reports whether value is allowed for SubsetID. The error
// is an *Error.
func ValidSubsetID(value string) error {
	_, _, err := ParseSubsetID(value)
	return err
}

// ValidSubsetPeers reports whether value is allowed for SubsetPeers: the
// name of a Service, a DNS-1035 label (lower-case letters, digits and '-',
// starting with a letter and ending with a letter or digit, at most 63
// characters). The error is an *Error.
func ValidSubsetPeers(value string) error {
	if !isDNS1035Label(value) {
		return &Error{Key: SubsetPeers, Value: value,
			Problem: "not a Service name; want a DNS-1035 label (a-z, 0-9 and '-', starting with a letter, ending with a letter or digit, at most 63 characters) naming a Service in the pod's namespace"}
	}
	return nil
}

func isDNS1035Label(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
