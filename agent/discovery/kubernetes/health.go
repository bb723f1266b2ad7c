package kubernetes

import (
	"context"
	"errors"
	"io"
	"sync"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
)

// apiHealth logs once when the EndpointSlice watch starts failing and once
// when it works again. The endpoint set is left alone meanwhile: the agent
// keeps serving on the last-known endpoints.
type apiHealth struct {
	log  *zap.Logger
	mu   sync.Mutex
	down bool
}

func newAPIHealth(log *zap.Logger) *apiHealth { return &apiHealth{log: log} }

// observe records the outcome of one list or watch call made under ctx.
// Once ctx has ended, outcomes are ignored: a call cut short is no failure
// of the API server, and a call that completes as the watch stops must not
// log after Watch has returned.
func (h *apiHealth) observe(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err != nil && !h.down:
		h.down = true
		h.log.Warn("EndpointSlice watch failing, keeping the last endpoints", zap.Error(err))
	case err == nil && h.down:
		h.down = false
		h.log.Info("EndpointSlice watch resumed")
	}
}

// watchError receives the errors that end the informer's list-and-watch
// cycle. Expired resource versions and closed streams are routine: the
// reflector lists again.
func (h *apiHealth) watchError(ctx context.Context, _ *cache.Reflector, err error) {
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, io.EOF) {
		return
	}
	h.observe(ctx, err)
}
