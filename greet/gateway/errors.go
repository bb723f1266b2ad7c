package gateway

import (
	"encoding/json"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorBody is the JSON answer to every failed request.
type errorBody struct {
	Error string `json:"error"`
	// Field names the part of the request at fault, for 4xx answers.
	Field string `json:"field,omitempty"`
	// GRPCCode and GRPCMessage carry the upstream status, for 502 and 504 answers.
	GRPCCode    string `json:"grpc_code,omitempty"`
	GRPCMessage string `json:"grpc_message,omitempty"`
}

// upstreamStatus maps a failed Greet call to an HTTP status: 504 when the
// deadline passed, 502 for every other failure of the greet server.
func upstreamStatus(st *status.Status) int {
	if st.Code() == codes.DeadlineExceeded {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func writeRequestError(w http.ResponseWriter, e *requestError) {
	writeJSON(w, e.status, errorBody{Error: e.Error(), Field: e.field})
}

func writeUpstreamError(w http.ResponseWriter, st *status.Status) {
	writeJSON(w, upstreamStatus(st), errorBody{
		Error:       "greet server call failed",
		GRPCCode:    st.Code().String(),
		GRPCMessage: st.Message(),
	})
}

func writeJSON(w http.ResponseWriter, code int, body errorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
