// Package probe misbehaves at the HTTP/2 level against a server and
// measures what it costs: the server's peak resident memory, whether a
// well-behaved side client on its own connection keeps being served, and
// whether the server ended the abusive connection, and with which GOAWAY
// code.
//
// Each probe drives raw connections with golang.org/x/net/http2's Framer
// and hpack, bounded in count and in time (Scale), against loopback
// addresses. A Runner starts fresh processes for every probe: three
// greet-servers with a roundabout-agent over them, or one greet-server
// alone, so that the peak (VmHWM) read from /proc belongs to that probe;
// a process whose resident memory passes the Runner's cap is killed and the
// probe stopped.
//
// The probe classes:
//
//  1. rapid reset: HEADERS then RST_STREAM CANCEL (CVE-2023-44487)
//  2. floods on a connection that never reads: PING, SETTINGS, and
//     WINDOW_UPDATE(0) that each provoke a RST_STREAM
//  3. INITIAL_WINDOW_SIZE 0 with server-streaming calls that are never read
//  4. a client-streaming body in 1-byte DATA frames toward slow servers
//  5. 16 MiB DATA frames where 16 KiB is the maximum frame size
//  6. SETTINGS_MAX_FRAME_SIZE 0, an invalid value
//  7. thousands of connections that send only the preface, or nothing,
//     then SIGTERM
//  8. request trailers, a second HEADERS, malformed pseudo-headers and
//     HEADERS on closed streams
//  9. CONTINUATION flood, huge header lists, HPACK amplification and table
//     size abuse, streams beyond MAX_CONCURRENT_STREAMS, window overflow
package probe
