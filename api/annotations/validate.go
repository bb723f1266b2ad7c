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
