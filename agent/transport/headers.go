package transport

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// headerBlock decodes the header blocks a Conn receives, a HEADERS frame
// and the CONTINUATION frames after it, with the checks x/net's framer
// makes when it assembles a MetaHeadersFrame, but with one decoder
// callback and one scratch field list per connection: the framer's
// assembly allocated a frame, a closure and a growing field list for every
// block, most of what the relay allocated per call. The framer still
// checks that CONTINUATION frames follow their HEADERS frame on the same
// stream. Only the reader goroutine uses it.
type headerBlock struct {
	dec *hpack.Decoder
	max uint32 // MaxHeaderListSize

	// The block being decoded.
	hf         http2.HeadersFrame // the HEADERS frame that opened it
	fields     []hpack.HeaderField
	remain     uint32
	sawRegular bool
	truncated  bool
	invalid    error

	mh http2.MetaHeadersFrame // the block handed on, reused
}

func (b *headerBlock) init(maxList uint32) {
	b.max = maxList
	b.dec = hpack.NewDecoder(4096, b.emit)
	b.dec.SetMaxStringLength(int(maxList))
}

// start begins the block f opens.
func (b *headerBlock) start(f *http2.HeadersFrame) {
	b.hf = *f
	clear(b.fields)
	b.fields = b.fields[:0]
	b.remain = b.max
	b.sawRegular, b.truncated, b.invalid = false, false, nil
	b.dec.SetEmitEnabled(true)
}

// emit takes one decoded field: it stops taking fields at the first
// invalid one, or once the list exceeds MaxHeaderListSize (truncated).
func (b *headerBlock) emit(hf hpack.HeaderField) {
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		// The value is left out: it may be sensitive.
		b.invalid = fmt.Errorf("invalid value of header field %q", hf.Name)
	}
	if strings.HasPrefix(hf.Name, ":") {
		if b.sawRegular {
			b.invalid = errors.New("pseudo-header field after a regular one")
		}
	} else {
		b.sawRegular = true
		if !validFieldName(hf.Name) {
			b.invalid = fmt.Errorf("invalid header field name %q", hf.Name)
		}
	}
	if b.invalid != nil {
		b.dec.SetEmitEnabled(false)
		return
	}
	size := hf.Size()
	if size > b.remain {
		b.dec.SetEmitEnabled(false)
		b.truncated = true
		b.remain = 0
		return
	}
	b.remain -= size
	b.fields = append(b.fields, hf)
}

// write decodes one fragment of the block.
func (b *headerBlock) write(frag []byte) error {
	// A fragment far larger than what the list may still hold is not
	// decoded: the peer ignores the advertised limit (x/net answers the
	// same).
	if int64(len(frag)) > 2*int64(b.remain) {
		return errConn(http2.ErrCodeProtocol, fmt.Sprintf("header block far above the advertised maximum of %d bytes", b.max))
	}
	if _, err := b.dec.Write(frag); err != nil {
		return errConn(http2.ErrCodeCompression, "HPACK: "+err.Error())
	}
	return nil
}

// finish ends the block. It returns the block, with a field list of its
// own that the caller may keep, or the stream error that answers it.
func (b *headerBlock) finish() (*http2.MetaHeadersFrame, error) {
	if err := b.dec.Close(); err != nil {
		return nil, errConn(http2.ErrCodeCompression, "HPACK: "+err.Error())
	}
	invalid := b.invalid
	if invalid == nil {
		invalid = checkPseudos(b.fields)
	}
	if invalid != nil {
		return nil, http2.StreamError{StreamID: b.hf.StreamID, Code: http2.ErrCodeProtocol, Cause: invalid}
	}
	fields := make([]hpack.HeaderField, len(b.fields))
	copy(fields, b.fields)
	clear(b.fields)
	b.mh = http2.MetaHeadersFrame{HeadersFrame: &b.hf, Fields: fields, Truncated: b.truncated}
	return &b.mh, nil
}

// validFieldName reports whether name is a lower-case token, as a header
// field name on the wire of HTTP/2 must be.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !httpguts.IsTokenRune(r) || ('A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// checkPseudos checks the pseudo-header fields of a block: known names,
// none twice, and not those of a request and a response together.
func checkPseudos(fields []hpack.HeaderField) error {
	var request, response bool
	for i, hf := range fields {
		if !strings.HasPrefix(hf.Name, ":") {
			break
		}
		switch hf.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
			request = true
		case ":status":
			response = true
		default:
			return fmt.Errorf("invalid pseudo-header %q", hf.Name)
		}
		for _, prev := range fields[:i] {
			if prev.Name == hf.Name {
				return fmt.Errorf("duplicate pseudo-header %q", hf.Name)
			}
		}
	}
	if request && response {
		return errors.New("request and response pseudo-headers in one block")
	}
	return nil
}
