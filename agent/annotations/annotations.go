// Package annotations names every pod annotation and namespace label
// Roundabout reads, with their values and defaults. The webhook validates
// and acts on them when a pod is created; the agent reads the strategy
// annotations from its downward-API file while the pod runs. Both import
// the names from here and nowhere else.
package annotations

// Prefix starts every Roundabout annotation and label.
const Prefix = "roundabout.dev/"

// Pod (or pod template) annotations.
const (
	// Inject asks for the agent sidecar: InjectEnabled or InjectDisabled.
	// On a namespace it is a label with the same values, and a pod's
	// InjectDisabled overrides a namespace's InjectEnabled.
	Inject = Prefix + "inject"
	// Upstream is required when injecting: one or more
	// service[.namespace]:port, comma-separated. Each upstream is served on
	// 127.0.0.1:<port> unless given as name=listen.
	Upstream = Prefix + "upstream"
	// Strategy picks the balancing strategy, DefaultStrategy when absent.
	// Changing it on a running pod takes effect without a restart.
	Strategy = Prefix + "strategy"
	// HashHeader names the request header the ring-hash strategy hashes.
	HashHeader = Prefix + "hash-header"
	// LogLevel sets the agent's log level: debug, info, warn or error.
	LogLevel = Prefix + "log-level"
	// LookasidePort asks the agent to serve the lookaside Resolve API on
	// the pod IP at this port, 1-65535, reachable from other pods and from
	// the node. Absent, the agent serves no lookaside API.
	LookasidePort = Prefix + "lookaside-port"
	// AgentCPURequest overrides the agent container's CPU request.
	AgentCPURequest = Prefix + "agent-cpu-request"
	// AgentMemoryLimit overrides the agent container's memory limit.
	AgentMemoryLimit = Prefix + "agent-memory-limit"
	// Status is set by the webhook on pods it injected, to StatusInjected.
	// A pod that carries it is never injected twice.
	Status = Prefix + "status"
)

// Values and defaults.
const (
	InjectEnabled   = "enabled"
	InjectDisabled  = "disabled"
	StatusInjected  = "injected"
	DefaultStrategy = "round-robin"
	DefaultLogLevel = "info"
)
