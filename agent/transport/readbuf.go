package transport

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// readBuf is what a Conn's framer reads the socket through: a buffered
// reader whose buffer comes from readPool when the socket has bytes to read
// and goes back to it once they were all consumed, so that a connection
// waiting for its peer holds no buffer. Only the reader goroutine uses it.
//
// A socket with a file descriptor is read with read(2) made on the
// non-blocking descriptor, waiting in the network poller with no buffer
// held (as net.Conn.Read waits, but see rawSyscallIO); the buffer is taken
// once the descriptor is readable. Any other net.Conn is read with blocking
// reads, holding the buffer while it waits.
type readBuf struct {
	nc   net.Conn
	raw  syscall.RawConn // nil: read nc
	buf  *[]byte         // held while r < w
	r, w int
	held *atomic.Int32 // the owning Conn's count of pooled buffers held

	// Set for the duration of one raw read, so that the function given to
	// raw.Read is allocated once.
	n      int
	errno  syscall.Errno
	readFn func(fd uintptr) bool
}

func (b *readBuf) init(nc net.Conn, held *atomic.Int32, prefix []byte) {
	b.nc, b.held = nc, held
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			b.raw = raw
			b.readFn = b.readRaw
		}
	}
	if len(prefix) > 0 {
		b.take()
		b.w = copy(*b.buf, prefix)
	}
}

func (b *readBuf) take() {
	b.buf = readPool.Get().(*[]byte)
	b.held.Add(1)
}

func (b *readBuf) release() {
	readPool.Put(b.buf)
	b.buf = nil
	b.r, b.w = 0, 0
	b.held.Add(-1)
}

// Read copies buffered bytes into p, reading the socket once first when
// none are buffered.
func (b *readBuf) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*b.buf)[b.r:b.w])
	b.r += n
	if b.r == b.w {
		b.release()
	}
	return n, nil
}

// fill reads the socket once into a buffer taken for it; on error it holds
// none.
func (b *readBuf) fill() error {
	if b.raw == nil {
		b.take()
		n, err := b.nc.Read(*b.buf)
		if n > 0 {
			b.w = n
			return nil
		}
		b.release()
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	b.n, b.errno = 0, 0
	err := b.raw.Read(b.readFn)
	switch {
	case err != nil:
	case b.errno != 0:
		err = b.errno
	case b.n == 0:
		err = io.EOF
	}
	if err != nil {
		if b.buf != nil {
			b.release()
		}
		return err
	}
	b.w = b.n
	return nil
}

// readRaw is the function raw.Read calls, at once and then whenever the
// descriptor turns readable: it takes a buffer for one read(2) and gives it
// back when the socket had nothing.
func (b *readBuf) readRaw(fd uintptr) bool {
	if b.buf == nil {
		b.take()
	}
	b.n, b.errno = rawSyscallIO(syscall.SYS_READ, fd, *b.buf)
	if b.errno == syscall.EAGAIN {
		b.release()
		return false
	}
	return true
}

// frameBuffered reports whether a whole frame is buffered, so that reading
// it will not block.
func (b *readBuf) frameBuffered() bool {
	n := b.w - b.r
	if n < frameHeaderLen {
		return false
	}
	h := (*b.buf)[b.r:]
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	return n >= frameHeaderLen+length
}

// close gives back the buffer held, if any, once the reader stopped.
func (b *readBuf) close() {
	if b.buf != nil {
		b.release()
	}
}
