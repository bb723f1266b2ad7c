package transport

import (
	"testing"

	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

func TestEncodeGRPCMessage(t *testing.T) {
	cases := map[string]string{
		"plain text":        "plain text",
		"100% done":         "100%25 done",
		"línea\nnueva":      "l%C3%ADnea%0Anueva",
		"":                  "",
		"tab\there, ~tilde": "tab%09here, ~tilde",
	}
	for in, want := range cases {
		if got := encodeGRPCMessage(in); got != want {
			t.Errorf("encodeGRPCMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusFields(t *testing.T) {
	only := statusFields(codes.Unavailable, "no endpoint", true)
	want := []hpack.HeaderField{
		{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"},
		{Name: "grpc-status", Value: "14"}, {Name: "grpc-message", Value: "no endpoint"},
	}
	if len(only) != len(want) {
		t.Fatalf("trailers-only block %v", only)
	}
	for i := range want {
		if only[i] != want[i] {
			t.Fatalf("trailers-only block %v, want %v", only, want)
		}
	}
	if trailers := statusFields(codes.Internal, "x", false); len(trailers) != 2 || trailers[0].Name != "grpc-status" {
		t.Fatalf("trailers block %v", trailers)
	}
}

func TestGRPCStatus(t *testing.T) {
	for fields, want := range map[string]codes.Code{"0": codes.OK, "14": codes.Unavailable, "x": codes.Unknown} {
		if got := grpcStatus([]hpack.HeaderField{{Name: "grpc-status", Value: fields}}); got != want {
			t.Errorf("grpc-status %q read as %v, want %v", fields, got, want)
		}
	}
	if got := grpcStatus(nil); got != codes.Unknown {
		t.Errorf("a block without grpc-status read as %v, want Unknown", got)
	}
}
