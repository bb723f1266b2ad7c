package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// shutdownTimeout bounds how long in-flight HTTP requests may take to finish
// after the gateway is asked to stop.
const shutdownTimeout = 10 * time.Second

// Run serves the gateway on lis until ctx ends, then shuts the HTTP server
// down and closes the gRPC connection.
func Run(ctx context.Context, cfg Config, lis net.Listener, log *zap.Logger) error {
	gw, err := New(cfg, log)
	if err != nil {
		return err
	}
	defer closeConn(gw, log)
	srv := &http.Server{
		Handler:           gw.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      cfg.Timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("serving HTTP", zap.String("address", lis.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	return shutdown(srv, errc, log)
}

func shutdown(srv *http.Server, errc <-chan error, log *zap.Logger) error {
	log.Info("shutting down HTTP server", zap.Duration("timeout", shutdownTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutting down HTTP server: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP: %w", err)
	}
	log.Info("HTTP server stopped")
	return nil
}

func closeConn(gw *Gateway, log *zap.Logger) {
	if err := gw.Close(); err != nil {
		log.Warn("closing gRPC connection", zap.Error(err))
		return
	}
	log.Info("gRPC connection closed")
}
