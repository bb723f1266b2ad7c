// Package agent tests the roundabout-agent binary end to end: real
// greet-server and greet-gateway processes on loopback, the agent between
// them, configured by its command line exactly as a user runs it.
package agent
