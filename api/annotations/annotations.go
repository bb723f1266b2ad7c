// Package annotations is the contract between the Roundabout webhook and the
// Roundabout agent: the name of every roundabout.dev/ annotation and
// namespace label, the values each one allows, the strategy names, and the
// defaults both sides must agree on.
//
// The webhook reads these annotations when a pod is created, rejects values
// the contract does not allow, and turns the rest into the injected agent's
// command line. The agent reads the live ones (Strategy and HashHeader) from
// its downward-API file while the pod runs. Both import the names, values and
// defaults from here and define none of them themselves.
//
// The package imports only the standard library, so depending on it links
// nothing of the agent or the webhook.
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
	// DefaultListenHost:<port> unless given as name=listen.
	Upstream = Prefix + "upstream"
	// Strategy picks the balancing strategy, one of Strategies,
	// DefaultStrategy when absent. Changing it on a running pod takes
	// effect without a restart.
	Strategy = Prefix + "strategy"
	// HashHeader names the request header the StrategyRingHash strategy
	// hashes. Changing it on a running pod takes effect without a restart.
	HashHeader = Prefix + "hash-header"
	// LogLevel sets the agent's log level, one of LogLevels,
	// DefaultLogLevel when absent.
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

// Values of Inject and Status.
const (
	InjectEnabled  = "enabled"
	InjectDisabled = "disabled"
	StatusInjected = "injected"
)

// Strategy names, as the Strategy annotation and the agent's --strategy
// flag take them. Each strategy package of the agent registers itself under
// one of them.
const (
	// StrategyRoundRobin takes the endpoints in turn.
	StrategyRoundRobin = "round-robin"
	// StrategyRandom picks an endpoint uniformly at random.
	StrategyRandom = "random"
	// StrategyLeastRequest picks the less loaded of two random endpoints,
	// by requests in flight.
	StrategyLeastRequest = "least-request"
	// StrategyPeakEWMA picks the better of two random endpoints, by
	// latency times load.
	StrategyPeakEWMA = "peak-ewma"
	// StrategyRingHash hashes the HashHeader request header onto a ring of
	// endpoints; requests without the header go round-robin.
	StrategyRingHash = "ring-hash"
)

// Log levels, as the LogLevel annotation and the agent's --log-level flag
// take them.
const (
	LogLevelDebug = "debug"
	LogLevelInfo  = "info"
	LogLevelWarn  = "warn"
	LogLevelError = "error"
)

// Defaults the webhook and the agent share.
const (
	// DefaultStrategy is the strategy when the Strategy annotation and the
	// --strategy flag are absent.
	DefaultStrategy = StrategyRoundRobin
	// DefaultLogLevel is the agent's log level when the LogLevel annotation
	// and the --log-level flag are absent.
	DefaultLogLevel = LogLevelInfo
	// DefaultAdminPort is the port of the agent's admin server (/metrics,
	// /healthz, /readyz, /debug/endpoints). The webhook points the injected
	// agent's probes at it.
	DefaultAdminPort = 9901
	// DefaultListenHost is the loopback address the agent serves an
	// upstream on when no listen address is given for it.
	DefaultListenHost = "127.0.0.1"
)

// Strategies returns every strategy name, sorted.
func Strategies() []string {
	return []string{StrategyLeastRequest, StrategyPeakEWMA, StrategyRandom, StrategyRingHash, StrategyRoundRobin}
}

// LogLevels returns every log level, from the most verbose to the least.
func LogLevels() []string {
	return []string{LogLevelDebug, LogLevelInfo, LogLevelWarn, LogLevelError}
}
