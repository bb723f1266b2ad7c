package controlplane

// Pids returns the process ids of the components s runs itself, by name.
func (s *Stack) Pids() map[string]int { return s.pids() }
