package transport

// streamQueue is a FIFO of streams on a ring buffer, so that a connection
// with a steady stream of work reuses one backing array.
type streamQueue struct {
	buf  []*Stream
	head int
	n    int
}

func (q *streamQueue) len() int { return q.n }

func (q *streamQueue) push(s *Stream) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = s
	q.n++
}

func (q *streamQueue) pop() *Stream {
	s := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return s
}

// each calls f for every queued stream, oldest first.
func (q *streamQueue) each(f func(*Stream)) {
	for i := range q.n {
		f(q.buf[(q.head+i)%len(q.buf)])
	}
}

func (q *streamQueue) grow() {
	buf := make([]*Stream, max(2*len(q.buf), 16))
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
