package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

const (
	// maxBodyBytes bounds the JSON body of POST /greet.
	maxBodyBytes = 64 << 10
	// maxNameBytes bounds each name in the body.
	maxNameBytes = 256
)

// greetBody is the JSON body of POST /greet.
type greetBody struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// requestError is a client mistake, answered with a 4xx status.
type requestError struct {
	status int
	field  string
	msg    string
}

func (e *requestError) Error() string { return e.field + ": " + e.msg }

func badRequest(field, format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// decodeGreet reads exactly one JSON object with known fields and a first name.
func decodeGreet(w http.ResponseWriter, r *http.Request) (*greetv1.GreetRequest, *requestError) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	var body greetBody
	if err := dec.Decode(&body); err != nil {
		return nil, decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, badRequest("body", "must hold exactly one JSON object")
	}
	if err := body.validate(); err != nil {
		return nil, err
	}
	return &greetv1.GreetRequest{FirstName: body.FirstName, LastName: body.LastName}, nil
}

func (b greetBody) validate() *requestError {
	switch {
	case b.FirstName == "":
		return badRequest("first_name", "must be a non-empty string")
	case len(b.FirstName) > maxNameBytes:
		return badRequest("first_name", "must be at most %d bytes", maxNameBytes)
	case len(b.LastName) > maxNameBytes:
		return badRequest("last_name", "must be at most %d bytes", maxNameBytes)
	}
	return nil
}

// decodeError turns a json.Decoder error into a message naming the field at fault.
func decodeError(err error) *requestError {
	var typeErr *json.UnmarshalTypeError
	var sizeErr *http.MaxBytesError
	switch {
	case errors.As(err, &sizeErr):
		return &requestError{status: http.StatusRequestEntityTooLarge, field: "body",
			msg: fmt.Sprintf("must be at most %d bytes", sizeErr.Limit)}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return badRequest(typeErr.Field, "must be a %s, not a JSON %s", typeErr.Type, typeErr.Value)
	case errors.As(err, &typeErr):
		return badRequest("body", "must be a JSON object, not a JSON %s", typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json reports unknown fields only through the message text.
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unknown field (want first_name, last_name)")
	case errors.Is(err, io.EOF):
		return badRequest("body", "must be a JSON object, got an empty body")
	}
	return badRequest("body", "malformed JSON: %v", err)
}
