package transport

import "sync"

// maxFrameSize is the largest DATA payload this package ever receives: it
// advertises the protocol default, so every received frame fits one buffer.
const maxFrameSize = 16384

var framePool = sync.Pool{New: func() any {
	b := make([]byte, maxFrameSize)
	return &b
}}

// copyFrame copies a received DATA payload into a pooled buffer, because the
// framer reuses its own buffer on the next read.
func copyFrame(p []byte) *[]byte {
	b := framePool.Get().(*[]byte)
	*b = append((*b)[:0], p...)
	return b
}

func releaseFrame(b *[]byte) {
	if b != nil && cap(*b) == maxFrameSize {
		framePool.Put(b)
	}
}

// A connection holds a read buffer only while it holds bytes read from its
// socket and not yet consumed, and a send buffer only while frames wait to
// be written, as grpc-go's readyreader and x/net/http2's server do: an idle
// connection holds neither, and the buffers of busy connections are shared
// through these pools.
var (
	readPool = sync.Pool{New: func() any {
		b := make([]byte, readBufferSize)
		return &b
	}}
	sendPool = sync.Pool{New: func() any {
		b := make([]byte, 0, sendBufferCap)
		return &b
	}}
)

// sendBufferCap leaves room past writeBufferSize for the frame that takes
// an inline batch over its budget (writeNow), so that the batch does not
// grow the array.
const sendBufferCap = writeBufferSize + frameHeaderLen + maxFrameSize
