// Package server implements greet.v1.GreetService, the demo workload that
// answers every call with the identity of the pod that served it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

const (
	// DefaultCount is how many greetings GreetManyTimes streams when count is 0.
	DefaultCount = 10
	// MaxCount bounds GreetManyTimes so that one request cannot stream forever.
	MaxCount = 10000
)

// Service answers GreetService calls on behalf of one pod.
type Service struct {
	greetv1.UnimplementedGreetServiceServer
	pod Identity
}

// Identity names the pod that serves a response.
type Identity struct {
	Name string
	IP   string
}

// NewService returns a GreetService that signs every response with pod.
func NewService(pod Identity) *Service {
	return &Service{pod: pod}
}

// Greet answers one request with one greeting.
func (s *Service) Greet(_ context.Context, req *greetv1.GreetRequest) (*greetv1.GreetResponse, error) {
	if err := validate(req, "first_name"); err != nil {
		return nil, err
	}
	return s.response("Greet rpc", fullName(req)), nil
}

// GreetManyTimes streams count greetings for one request.
func (s *Service) GreetManyTimes(req *greetv1.GreetManyTimesRequest, stream grpc.ServerStreamingServer[greetv1.GreetResponse]) error {
	count, err := streamCount(req.GetCount())
	if err != nil {
		return err
	}
	if err := validate(req.GetGreeting(), "greeting.first_name"); err != nil {
		return err
	}
	for i := 1; i <= count; i++ {
		resp := s.response(fmt.Sprintf("GreetManyTimes rpc (%d/%d)", i, count), fullName(req.GetGreeting()))
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
	return nil
}

// LongGreet reads every request of the stream and answers once, greeting them all.
func (s *Service) LongGreet(stream grpc.ClientStreamingServer[greetv1.GreetRequest, greetv1.GreetResponse]) error {
	var names []string
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(s.response("LongGreet rpc", strings.Join(names, ", ")))
		}
		if err != nil {
			return err
		}
		if err := validate(req, "first_name"); err != nil {
			return err
		}
		names = append(names, fullName(req))
	}
}

// GreetEveryone answers each request of the stream with one greeting.
func (s *Service) GreetEveryone(stream grpc.BidiStreamingServer[greetv1.GreetRequest, greetv1.GreetResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := validate(req, "first_name"); err != nil {
			return err
		}
		if err := stream.Send(s.response("GreetEveryone rpc", fullName(req))); err != nil {
			return err
		}
	}
}

// response formats the greeting, e.g. "response from Greet rpc: Hello, Ada
// Lovelace from pod: name(greet-0), ip(10.0.0.7)."
func (s *Service) response(source, names string) *greetv1.GreetResponse {
	return &greetv1.GreetResponse{Result: fmt.Sprintf(
		"response from %s: Hello, %s from pod: name(%s), ip(%s).", source, names, s.pod.Name, s.pod.IP)}
}

// identityPattern matches the identity response puts at the end of every
// result: "... from pod: name(greet-0), ip(10.0.0.7)."
var identityPattern = regexp.MustCompile(`from pod: name\(([^()]*)\), ip\(([^()]*)\)\.$`)

// ParseIdentity returns the identity of the pod that served a response, from
// its result, and false when result carries none.
func ParseIdentity(result string) (Identity, bool) {
	m := identityPattern.FindStringSubmatch(result)
	if m == nil {
		return Identity{}, false
	}
	return Identity{Name: m[1], IP: m[2]}, true
}

// PodName returns the name of the pod that served a response, from its
// result, and false when result carries none.
func PodName(result string) (string, bool) {
	id, ok := ParseIdentity(result)
	return id.Name, ok
}

// validate rejects a request without a first name; field is the name reported to the caller.
func validate(req *greetv1.GreetRequest, field string) error {
	if req.GetFirstName() == "" {
		return status.Errorf(codes.InvalidArgument, "%s: must not be empty", field)
	}
	return nil
}

func streamCount(count int32) (int, error) {
	switch {
	case count == 0:
		return DefaultCount, nil
	case count < 0 || count > MaxCount:
		return 0, status.Errorf(codes.InvalidArgument, "count: %d is outside 0..%d", count, MaxCount)
	}
	return int(count), nil
}

func fullName(req *greetv1.GreetRequest) string {
	if req.GetLastName() == "" {
		return req.GetFirstName()
	}
	return req.GetFirstName() + " " + req.GetLastName()
}
