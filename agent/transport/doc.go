// Package transport relays HTTP/2 streams between two connections at the
// frame level.
//
// A Conn is one HTTP/2 connection in either role: the server role faces the
// local client (server.go), the client role faces one upstream server
// (client.go); framing, flow control and writing are shared. A request
// stream accepted on a server-role Conn is linked to a stream opened on a
// client-role Conn; from then on HEADERS, DATA, trailers and RST_STREAM
// received on one half are queued, unchanged in meaning, for the other half.
// No gRPC message is decoded. Header blocks are decoded and re-encoded
// because each connection has its own HPACK state; a Conn decodes them
// itself (headers.go), with one decoder callback and one scratch field list
// per connection, and checks them as x/net's framer does.
//
// A Conn is as strict with its peer as an HTTP/2 server must be, because one
// client's mistake must not reach a connection other clients share: frames
// are checked against RFC 9113 (frame sizes, stream states, SETTINGS values,
// request pseudo-header fields) and what a gRPC server would answer with a
// connection error is answered here on the one stream (server.go).
//
// Memory is bounded per connection, whatever the peer does:
//   - DATA: each Conn advertises a receive window per stream, and returns it
//     to the sender only once the bytes were written to the other
//     connection, so a slow reader on one side stops the writer on the
//     other. Received frames are packed into shared chunks, so the bytes
//     held per stream and direction never exceed the stream window
//     (Conn.Buffered counts them), and a client has at most
//     MaxConcurrentStreams streams. Connection-level windows are returned on
//     receipt, so that one blocked stream cannot stall its neighbours.
//   - Control frames owed to the peer go through one bounded queue
//     (ctrl.go); a peer that provokes more than maxQueuedControlFrames
//     without reading them is sent GOAWAY ENHANCE_YOUR_CALM and closed.
//   - Header blocks are bounded by MaxHeaderListSize.
//   - Streams a client resets before their upstream half ended are bounded
//     by a multiple of MaxConcurrentStreams (rapid reset).
//   - A client connection holds no buffers until its preface arrived, and
//     must send it within PrefaceTimeout.
//   - Read and send buffers come from pools and are held only while they
//     hold bytes: read from the socket and not yet handled, or queued for
//     it and not yet written (readbuf.go, sendbuf.go). An idle connection
//     holds neither.
//
// Each Conn runs a reader that dispatches frames and, while there is
// something to write or a stream is open, a writer that drains the control
// queue and then, round robin, the streams with writable items into one
// buffer, writing it out when there is nothing left; the writer goroutine
// is started by the first frame queued that cannot be written at once and
// ends when the connection turns idle, so an idle client-role Conn runs one
// goroutine, its reader. A reader
// does not wake a writer for every frame it queues: once it has handled
// every complete frame it holds, and before it would block on a read, it
// writes out the connections it gave frames to itself, in one non-blocking
// write each (writer.go, writeNow), so that a request or a response
// crosses the agent on the goroutine that read it, with one write and
// without a goroutine hand-off. It leaves the work to the connection's
// writer when that writer is busy, when the socket does not take every
// byte, or past a budget of bytes, so a peer that does not read never
// blocks a reader. A PING acknowledgement on a connection that writes
// often waits, first in its control queue, for the next frames to that
// peer, for at most pingAckDelay (pingack.go): gRPC peers PING after every
// request or response they receive, and an acknowledgement written alone
// costs a write and a wake-up of the peer each time. Sockets are read and
// written with read(2) and write(2)
// made directly on the non-blocking descriptor, waiting in the network
// poller as net.Conn does (sendbuf.go): the system calls of net.Conn wake
// the runtime's monitor thread whenever the process was idle, which at a
// sidecar's request rates cost more than the calls themselves. A
// client-role Conn also runs health checks while streams are open, each on
// a goroutine of its own started by a timer that the client-role Conns
// share, that ping a connection on which requests wait with nothing read
// (keepalive.go). Nothing in the data path starts a goroutine per stream
// or sets a timer per stream or per frame: the one timer of the waiting
// PING acknowledgements is shared by every Conn and runs only while some
// wait. Close returns once the Conn's goroutines, health checks included,
// have ended; none starts after that, and the shared timer no longer
// reaches the Conn.
package transport
