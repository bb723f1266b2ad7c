package pool

// State is where an endpoint is in its life, as /debug/endpoints and the
// endpoints metric show it.
type State string

// The states of an endpoint. Only a ready endpoint is in the picker.
const (
	// StateReady is an endpoint with a live connection, in rotation.
	StateReady State = "ready"
	// StateConnecting is an endpoint without a connection, dialling one.
	StateConnecting State = "connecting"
	// StateEjected is an endpoint taken out of rotation by outlier
	// detection until a probe is answered.
	StateEjected State = "ejected"
	// StateDraining is a removed endpoint whose streams are finishing.
	StateDraining State = "draining"
)

// states lists every State, in the order the endpoints metric is set.
var states = [...]State{StateReady, StateConnecting, StateEjected, StateDraining}
