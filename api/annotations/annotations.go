// Package annotations is the contract between the Roundabout webhook and the
// Roundabout agent: the name of every roundabout.dev/ annotation and
// namespace label, the values each one allows, the strategy names, and the
// defaults both sides must agree on.
//
// The webhook reads these annotations when a pod is created, rejects values
// the contract does not allow, and turns the rest into the injected agent's
// command line. The agent reads the live ones (Strategy, HashHeader and
// SubsetSize) from
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
	// service[.namespace]:port[=listen], comma-separated. An entry without
	// =listen keeps the Service's name: the agent serves it on a loopback
	// address of its own per Service (ServiceLoopbackPrefix + N, on the
	// Service's port), and the webhook maps the Service's DNS names to that
	// address in the pod's hostAliases. An entry with =listen (a port, or
	// loopback-ip:port) is served there, DefaultListenHost when only a port
	// is given, and no name is mapped for it.
	//
	// On a namespace, Upstream is an annotation that supplies the default
	// for pods that do not carry it themselves.
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
	// AgentCPURequest overrides the agent container's CPU request, at least
	// AgentCPUFloor.
	AgentCPURequest = Prefix + "agent-cpu-request"
	// AgentCPULimit gives the agent container a CPU limit, at least
	// AgentCPUFloor and not below its CPU request.
	AgentCPULimit = Prefix + "agent-cpu-limit"
	// AgentMemoryRequest overrides the agent container's memory request,
	// at least AgentMemoryFloor.
	AgentMemoryRequest = Prefix + "agent-memory-request"
	// AgentMemoryLimit overrides the agent container's memory limit, at
	// least AgentMemoryFloor and not below its memory request.
	AgentMemoryLimit = Prefix + "agent-memory-limit"
	// SubsetSize is how many of an upstream's endpoints the agent connects
	// to: a whole number from 0 to MaxSubsetSize, 0 meaning every endpoint,
	// DefaultSubsetSize when absent. The agent chooses them by
	// deterministic subsetting: with C clients each of subset k over S
	// endpoints, every endpoint has floor(C·k/S) or ceil(C·k/S) clients when
	// each agent knows its place i of C (SubsetPeers or SubsetID), and
	// about as many, statistically, when it does not. Changing it on a
	// running pod takes effect without a restart.
	SubsetSize = Prefix + "subset-size"
	// SubsetPeers names a Service in the pod's namespace that selects the
	// pods of the client itself (a Deployment's or StatefulSet's pods, for
	// example a headless Service over them). The agent follows its
	// EndpointSlices as it follows an upstream's: its place i of C is the
	// rank of its own pod IP among the Service's ready pod IPs, sorted,
	// with its own added while it is not ready yet, and C their number.
	// It needs no permission beyond the one to read EndpointSlices in the
	// pod's namespace. A StatefulSet ordinal is not used: ordinals are
	// exact only while every replica exists, and where they all do the
	// sorted pod IPs give the same balance.
	SubsetPeers = Prefix + "subset-peers"
	// SubsetID fixes the agent's place as client i of C, written "i/C"
	// with 0 <= i < C, for a pod created on its own. Pods made from one
	// template share its annotations and so would all be client i; they
	// use SubsetPeers. It excludes SubsetPeers. With neither, the agent's
	// place is a hash of its pod name and the balance only statistical.
	SubsetID = Prefix + "subset-id"
	// NativeSidecar overrides, for one pod, whether the agent is a native
	// sidecar (an init container with restartPolicy Always, which needs
	// Kubernetes 1.29 on the pod's node) or a regular container placed
	// first: NativeSidecarTrue or NativeSidecarFalse. Absent, the webhook
	// decides for the cluster.
	NativeSidecar = Prefix + "native-sidecar"
	// Status is set by the webhook on pods it injected, to StatusInjected.
	// A pod that carries it is never injected twice.
	Status = Prefix + "status"
	// AgentImage is set by the webhook on pods it injected, to the agent
	// container's image, so the agent version a pod runs shows in its
	// metadata.
	AgentImage = Prefix + "agent-image"
)

// Values of Inject, NativeSidecar and Status.
const (
	InjectEnabled      = "enabled"
	InjectDisabled     = "disabled"
	NativeSidecarTrue  = "true"
	NativeSidecarFalse = "false"
	StatusInjected     = "injected"
)

// PodAnnotations returns every roundabout.dev/ annotation a pod may carry:
// those a user sets, then Status and AgentImage, which the webhook sets.
// Any other key with Prefix on a pod is unknown.
func PodAnnotations() []string {
	return []string{Inject, Upstream, Strategy, HashHeader, LogLevel, LookasidePort,
		SubsetSize, SubsetPeers, SubsetID, AgentCPURequest, AgentCPULimit, AgentMemoryRequest, AgentMemoryLimit, NativeSidecar,
		Status, AgentImage}
}

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
	// DefaultSubsetSize is the subset size when the SubsetSize annotation
	// and the --subset-size flag are absent: 100. A Service of up to 100
	// endpoints, which is most of them, keeps every endpoint in every
	// client, so nothing changes for it, ring-hash included. A bigger one
	// costs each client at most 100 connections, and each server about
	// C·100/S clients instead of C: 10,000 clients of a 1,000-pod Service
	// hold 1 million connections instead of 10 million, and every pod
	// 1,000 instead of 10,000. A hundred endpoints still give a client's
	// load plenty of servers to spread over and outlier ejection plenty
	// to choose from.
	DefaultSubsetSize = 100
	// MaxSubsetSize bounds the SubsetSize annotation and --subset-size.
	MaxSubsetSize = 100000
	// DefaultAdminPort is the port of the agent's admin server (/metrics,
	// /healthz, /readyz, /debug/endpoints). The webhook points the injected
	// agent's probes at it.
	DefaultAdminPort = 9901
	// DefaultListenHost is the loopback address the agent serves an
	// upstream on when its listen address is given as a port only.
	DefaultListenHost = "127.0.0.1"
	// ServiceLoopbackPrefix starts the loopback address the agent serves a
	// Service on when its upstream entry has no listen address: the n-th
	// distinct Service gets ServiceLoopbackPrefix + n, n from 1 to 254.
	ServiceLoopbackPrefix = "127.0.2."
	// DefaultClusterDomain is the cluster's DNS domain unless the webhook
	// is told otherwise: Service names end in .svc.DefaultClusterDomain.
	DefaultClusterDomain = "cluster.local"
	// DefaultGOMAXPROCS is how many threads run the agent's Go code at once
	// when neither the GOMAXPROCS environment variable nor a CPU limit says
	// otherwise: 1. At the rates a sidecar sees, a second thread costs more
	// CPU per request than it saves: every request that arrives while one
	// thread is busy wakes the other, which spins looking for work and goes
	// back to sleep. One thread carries about 25,000 unary calls a second.
	DefaultGOMAXPROCS = 1
)

// Floors of the agent's resources: the least the agent runs in. A request or
// limit annotation below its floor is refused. Both are Kubernetes quantities.
const (
	// AgentCPUFloor is the least CPU request or limit the agent is given.
	AgentCPUFloor = "10m"
	// AgentMemoryFloor is the least memory request or limit the agent is
	// given: its heap, goroutine stacks and per-connection buffers at rest.
	AgentMemoryFloor = "32Mi"
)

// Strategies returns every strategy name, sorted.
func Strategies() []string {
	return []string{StrategyLeastRequest, StrategyPeakEWMA, StrategyRandom, StrategyRingHash, StrategyRoundRobin}
}

// LogLevels returns every log level, from the most verbose to the least.
func LogLevels() []string {
	return []string{LogLevelDebug, LogLevelInfo, LogLevelWarn, LogLevelError}
}
