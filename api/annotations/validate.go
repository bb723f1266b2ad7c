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
