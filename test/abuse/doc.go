// Package abuse runs every probe of hack/h2abuse/probe against a fresh
// roundabout-agent and asserts what one misbehaving client, or one slow
// server, may cost it: a bounded peak RSS, a side client still served,
// a prompt exit on SIGTERM with idle connections open, upstream connections
// untouched by malformed requests, and the protocol errors RFC 9113
// requires.
//
// The agent and greet-server binaries are built once, without the race
// detector, in TestMain; ABUSE_BIN_DIR points at a directory that already
// holds both instead.
package abuse
