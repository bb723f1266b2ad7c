// Package transport relays HTTP/2 streams between two connections at the
// frame level.
//
// A Conn is one HTTP/2 connection in either role: the server role faces the
// local client, the client role faces one upstream server. A request stream
// accepted on a server-role Conn is linked to a stream opened on a
// client-role Conn; from then on HEADERS, DATA, trailers and RST_STREAM
// received on one half are queued, unchanged in meaning, for the other half.
// No gRPC message is decoded. Header blocks are decoded and re-encoded
// because each connection has its own HPACK state.
//
// Flow control holds end to end. Each Conn advertises a receive window per
// stream; the window of a stream is returned to its sender only once the
// bytes have been written to the other connection. A slow reader on one side
// therefore stops the writer on the other side, and the bytes buffered per
// stream and direction never exceed the advertised stream window.
// Connection-level windows are returned on receipt so that one blocked
// stream cannot stall its neighbours.
//
// Each Conn runs two goroutines: a reader that dispatches frames and a writer
// that drains a queue of control frames and per-stream items into one
// buffered writer, flushing when the queue is empty. Nothing in the data path
// starts a goroutine per stream.
package transport
