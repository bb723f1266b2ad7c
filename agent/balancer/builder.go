package balancer

// PickerBuilder is what a strategy supplies: the pickers it builds over a
// set of endpoints. NewBuilder makes it a Builder.
type PickerBuilder interface {
	// Build returns a picker over endpoints: at least one, sorted by Addr,
	// each with load figures, and owned by the picker afterwards.
	Build(endpoints []Endpoint) Picker
}

// NewBuilder returns the Builder of the strategy name, whose pickers pb
// builds. It keeps the rules of Builder.Build that every strategy shares,
// so that pb need not: over no endpoints it returns a picker that fails
// with ErrNoEndpoint, without calling pb, and it gives fresh load figures
// to any endpoint without them.
func NewBuilder(name string, pb PickerBuilder) Builder {
	return builder{name: name, pb: pb}
}

// noEndpoint is the picker over no endpoints.
var noEndpoint = NewErrPicker(ErrNoEndpoint)

type builder struct {
	name string
	pb   PickerBuilder
}

func (b builder) Name() string { return b.name }

func (b builder) Build(endpoints []Endpoint) Picker {
	if len(endpoints) == 0 {
		return noEndpoint
	}
	for i := range endpoints {
		if endpoints[i].Load == nil {
			endpoints[i].Load = new(Load)
		}
	}
	return b.pb.Build(endpoints)
}
