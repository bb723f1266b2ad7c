package transport

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// sendBuf collects the frames a Conn writes to its socket. It is guarded by
// Conn.wmu. The writer goroutine writes through it with blocking writes,
// flushing whenever it holds writeBufferSize bytes. A goroutine that writes
// inline (Conn.writeNow) only appends, within a budget, and then writes
// what the socket takes without blocking; the writer goroutine writes the
// rest, which stays in front of anything collected later. The buffer is
// taken from sendPool by the first Write and given back once everything was
// written, so a connection with nothing to send holds none.
type sendBuf struct {
	nc   net.Conn
	raw  syscall.RawConn // nil when nc has no file descriptor (net.Pipe)
	buf  []byte          // nil when nothing is buffered
	pbuf *[]byte         // the pooled array behind buf, or nil
	held *atomic.Int32   // the owning Conn's count of pooled buffers held
	// inline is set while a goroutine other than the writer fills the
	// buffer: Write then never blocks.
	inline bool

	// Set for the duration of one raw write, so that the function given to
	// raw.Write is allocated once.
	wn      int
	werrno  syscall.Errno
	wblock  bool
	writeFn func(fd uintptr) bool
}

func newSendBuf(nc net.Conn, held *atomic.Int32) *sendBuf {
	if held == nil {
		held = new(atomic.Int32)
	}
	b := &sendBuf{nc: nc, held: held}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			b.raw = raw
			b.writeFn = b.writeRaw
		}
	}
	return b
}

// writeRaw is the function raw.Write calls, at once and then, for a
// blocking write, whenever the descriptor turns writable: one write(2) of
// the buffer.
func (b *sendBuf) writeRaw(fd uintptr) bool {
	b.wn, b.werrno = rawSyscallIO(syscall.SYS_WRITE, fd, b.buf)
	return b.werrno != syscall.EAGAIN || !b.wblock
}

// Write appends p; out of inline mode it first writes the buffer out when p
// would not fit.
func (b *sendBuf) Write(p []byte) (int, error) {
	if !b.inline && len(b.buf) > 0 && len(b.buf)+len(p) > writeBufferSize {
		if err := b.flush(); err != nil {
			return 0, err
		}
	}
	if b.pbuf == nil && len(p) > 0 {
		b.pbuf = sendPool.Get().(*[]byte)
		b.buf = (*b.pbuf)[:0]
		b.held.Add(1)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// flush writes the whole buffer, blocking until the socket took it.
func (b *sendBuf) flush() error {
	if len(b.buf) == 0 {
		b.reset()
		return nil
	}
	var err error
	if b.raw == nil {
		_, err = b.nc.Write(b.buf)
	} else {
		err = b.rawWrite(true)
	}
	b.reset()
	return err
}

// errWouldBlock reports that the socket took only part of a non-blocking
// write.
var errWouldBlock = errors.New("socket buffer full")

// tryFlush writes as much of the buffer as the socket takes without
// blocking, and keeps the rest. It reports errWouldBlock when bytes remain.
func (b *sendBuf) tryFlush() error {
	if err := b.rawWrite(false); err != nil {
		return err
	}
	b.reset()
	return nil
}

// rawWrite writes the buffer to the socket, dropping what was written. When
// the socket is full it waits for room if block is set, and otherwise
// returns errWouldBlock with the rest still buffered.
//
// The socket is non-blocking, so the write system call is made without
// telling the scheduler (syscall.RawSyscall): a system call made the
// ordinary way wakes the runtime's monitor thread whenever the process was
// idle, which at the request rates of a sidecar costs more than the write.
func (b *sendBuf) rawWrite(block bool) error {
	for len(b.buf) > 0 {
		b.wn, b.werrno, b.wblock = 0, 0, block
		err := b.raw.Write(b.writeFn)
		n, errno := b.wn, b.werrno
		if err != nil {
			return err
		}
		if n > 0 {
			b.buf = b.buf[:copy(b.buf, b.buf[n:])]
		}
		switch {
		case errno == syscall.EAGAIN, errno == 0 && n == 0:
			if !block {
				return errWouldBlock
			}
		case errno != 0:
			return errno
		}
	}
	return nil
}

// rawSyscallIO is read(2) or write(2) of p on fd, retried on EINTR, without
// entering the scheduler's system call state.
func rawSyscallIO(trap uintptr, fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		r, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != syscall.EINTR {
			if errno != 0 {
				return 0, errno
			}
			return int(r), 0
		}
	}
}

// reset empties the buffer and gives the pooled array back. An array that
// an oversized inline batch grew is left to the collector.
func (b *sendBuf) reset() {
	b.buf = nil
	if b.pbuf != nil {
		sendPool.Put(b.pbuf)
		b.pbuf = nil
		b.held.Add(-1)
	}
}
