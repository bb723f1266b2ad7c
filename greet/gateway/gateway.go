// Package gateway is the REST front of the greet demo: it turns POST /greet
// into one greet.v1.GreetService/Greet call over a single gRPC connection
// made at start, the way an ordinary gRPC client does.
package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// Gateway serves the REST API and owns the gRPC connection behind it.
type Gateway struct {
	conn    *grpc.ClientConn
	client  greetv1.GreetServiceClient
	timeout time.Duration
	log     *zap.Logger
}

// New creates the gRPC connection for cfg and starts connecting. Every
// request served by the gateway reuses that connection.
func New(cfg Config, log *zap.Logger) (*Gateway, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if cfg.LBPolicy == PolicyRoundRobin {
		opts = append(opts, grpc.WithDefaultServiceConfig(cfg.ServiceConfig()))
	}
	conn, err := grpc.NewClient(cfg.Target(), opts...)
	if err != nil {
		return nil, fmt.Errorf("creating gRPC client for %s: %w", cfg.Target(), err)
	}
	conn.Connect()
	log.Info("gRPC client created", zap.String("target", cfg.Target()), zap.String("lb_policy", cfg.LBPolicy))
	return &Gateway{conn: conn, client: greetv1.NewGreetServiceClient(conn), timeout: cfg.Timeout, log: log}, nil
}

// Handler routes POST /greet and GET /healthz.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /greet", g.greet)
	mux.HandleFunc("GET /healthz", healthz)
	return mux
}

// Close closes the gRPC connection.
func (g *Gateway) Close() error {
	return g.conn.Close()
}

func (g *Gateway) greet(w http.ResponseWriter, r *http.Request) {
	req, reqErr := decodeGreet(w, r)
	if reqErr != nil {
		writeRequestError(w, reqErr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	resp, err := g.client.Greet(ctx, req)
	if err != nil {
		st := status.Convert(err)
		g.log.Warn("greet call failed", zap.Stringer("code", st.Code()), zap.String("message", st.Message()))
		writeUpstreamError(w, st)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, resp.GetResult())
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}
