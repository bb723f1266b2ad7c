// Package e2e runs the demo's scenario (demo/) as a test: the real
// control plane, the local pod runner, the webhook from deploy/, and every
// expectation of the seven steps asserted.
package e2e
