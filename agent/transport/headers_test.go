package transport

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// decodeBlock runs one header block through b, split into fragments of at
// most split bytes as CONTINUATION frames would carry it.
func decodeBlock(t *testing.T, b *headerBlock, enc *hpack.Encoder, buf *bytes.Buffer, split int, fields ...hpack.HeaderField) (*http2.MetaHeadersFrame, error) {
	t.Helper()
	buf.Reset()
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	b.start(&http2.HeadersFrame{FrameHeader: http2.FrameHeader{StreamID: 1}})
	block := buf.Bytes()
	for len(block) > 0 {
		n := min(split, len(block))
		if err := b.write(block[:n]); err != nil {
			return nil, err
		}
		block = block[n:]
	}
	return b.finish()
}

func hf(name, value string) hpack.HeaderField { return hpack.HeaderField{Name: name, Value: value} }

func TestHeaderBlock(t *testing.T) {
	var b headerBlock
	b.init(300)
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	request := []hpack.HeaderField{hf(":method", "POST"), hf(":scheme", "http"), hf(":path", "/greet.v1.GreetService/Greet"),
		hf("content-type", "application/grpc"), hf("te", "trailers")}

	first, err := decodeBlock(t, &b, enc, &buf, 3, request...)
	if err != nil {
		t.Fatalf("valid request in 3-byte fragments: %v", err)
	}
	if len(first.Fields) != len(request) || first.Truncated || first.PseudoValue("path") != "/greet.v1.GreetService/Greet" {
		t.Fatalf("decoded %v (truncated %v), want %v", first.Fields, first.Truncated, request)
	}
	kept := first.Fields
	second, err := decodeBlock(t, &b, enc, &buf, 1<<10, hf(":status", "200"), hf("content-type", "application/grpc"))
	if err != nil {
		t.Fatalf("valid response: %v", err)
	}
	if kept[0].Name != ":method" || len(second.Fields) != 2 || second.Fields[0].Name != ":status" {
		t.Fatalf("a later block changed the fields handed on earlier: kept %v, second %v", kept, second.Fields)
	}

	over, err := decodeBlock(t, &b, enc, &buf, 1<<10, hf(":status", "200"), hf("x-long", strings.Repeat("x", 250)))
	if err != nil || !over.Truncated || len(over.Fields) != 1 {
		t.Fatalf("block above MaxHeaderListSize: %v, %v, want one field and Truncated", over, err)
	}

	for name, fields := range map[string][]hpack.HeaderField{
		"upper-case name":         {hf(":status", "200"), hf("Content-Type", "x")},
		"pseudo after regular":    {hf("content-type", "x"), hf(":status", "200")},
		"unknown pseudo":          {hf(":colour", "red")},
		"duplicate pseudo":        {hf(":method", "POST"), hf(":method", "GET")},
		"request and response":    {hf(":method", "POST"), hf(":status", "200")},
		"newline in a value":      {hf(":status", "200"), hf("x", "a\nb")},
		"empty name":              {hf(":status", "200"), hf("", "x")},
		"space in a regular name": {hf(":status", "200"), hf("a b", "x")},
	} {
		_, err := decodeBlock(t, &b, enc, &buf, 1<<10, fields...)
		var se http2.StreamError
		if !errors.As(err, &se) || se.Code != http2.ErrCodeProtocol || se.StreamID != 1 {
			t.Errorf("%s: %v, want a PROTOCOL_ERROR stream error on stream 1", name, err)
		}
	}

	// An HPACK index past both tables is a connection error.
	b.start(&http2.HeadersFrame{FrameHeader: http2.FrameHeader{StreamID: 3}})
	err = b.write([]byte{0xff, 0x7f})
	if err == nil {
		_, err = b.finish()
	}
	var ce http2.ConnectionError
	if !errors.As(err, &ce) || http2.ErrCode(ce) != http2.ErrCodeCompression {
		t.Errorf("invalid HPACK index: %v, want a COMPRESSION_ERROR connection error", err)
	}
}
