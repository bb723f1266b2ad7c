package transport

import (
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// grpcStatus reads grpc-status from a trailer block. A block without one
// means the server broke the protocol, which gRPC reports as Unknown.
func grpcStatus(fields []hpack.HeaderField) codes.Code {
	for _, f := range fields {
		if f.Name == "grpc-status" {
			n, err := strconv.ParseUint(f.Value, 10, 32)
			if err != nil {
				return codes.Unknown
			}
			return codes.Code(n)
		}
	}
	return codes.Unknown
}

// statusFields builds the header block that ends a call with a gRPC
// status: a full trailers-only response, or trailers after headers.
func statusFields(code codes.Code, msg string, trailersOnly bool) []hpack.HeaderField {
	fields := make([]hpack.HeaderField, 0, 4)
	if trailersOnly {
		fields = append(fields,
			hpack.HeaderField{Name: ":status", Value: "200"},
			hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	}
	return append(fields,
		hpack.HeaderField{Name: "grpc-status", Value: strconv.Itoa(int(code))},
		hpack.HeaderField{Name: "grpc-message", Value: encodeGRPCMessage(msg)})
}

// encodeGRPCMessage percent-encodes a status message as the gRPC protocol
// requires: bytes outside printable ASCII and '%' itself.
func encodeGRPCMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%")
		b.WriteString(strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
	}
	return b.String()
}
