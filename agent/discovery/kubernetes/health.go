package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
)

// apiState is how the last list or watch call of the EndpointSlices went.
type apiState int

const (
	apiWorking   apiState = iota
	apiFailing            // the API server cannot be reached or errs
	apiForbidden          // the API server refuses the agent's identity
)

// apiHealth follows the outcome of every list and watch call the informer
// makes. It logs one line per change between working, failing and
// forbidden, and tells Check why the source cannot follow its endpoints.
//
// A failing API server leaves the endpoint set alone: the agent keeps
// serving on the last-known endpoints. A refusal is different: it lasts
// until someone grants the permission, so it is reported until then.
type apiHealth struct {
	up  Upstream
	log *zap.Logger

	mu      sync.Mutex
	state   apiState
	lastErr error           // the last failure, while not working
	denied  *ForbiddenError // the last refusal, while forbidden
	synced  bool            // the informer has listed once
}

func newAPIHealth(up Upstream, log *zap.Logger) *apiHealth { return &apiHealth{up: up, log: log} }

// observe records the outcome of one call with verb ("list" or "watch")
// made under ctx. Once ctx has ended, outcomes are ignored: a call cut
// short is no failure of the API server, and a call that completes as the
// watch stops must not log after Watch has returned.
func (h *apiHealth) observe(ctx context.Context, verb string, err error) {
	if ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	from := h.state
	switch {
	case err == nil:
		h.state, h.lastErr, h.denied = apiWorking, nil, nil
	case apierrors.IsForbidden(err):
		// The refusal that changed the state is the one reported, so
		// that Check and the log line agree while the retries are
		// refused too.
		if from != apiForbidden {
			h.denied = newForbiddenError(h.up, verb, err)
		}
		h.state, h.lastErr = apiForbidden, err
	default:
		h.state, h.lastErr, h.denied = apiFailing, err, nil
	}
	if h.state != from {
		h.logChange(from, err)
	}
}

// logChange logs the state just entered, once.
func (h *apiHealth) logChange(from apiState, err error) {
	switch h.state {
	case apiWorking:
		was := "failing"
		if from == apiForbidden {
			was = "forbidden"
		}
		h.log.Info("EndpointSlice watch resumed", zap.String("was", was))
	case apiForbidden:
		d := h.denied
		h.log.Error("EndpointSlice watch forbidden: missing RBAC permission; not ready until it is granted",
			zap.String("verb", d.Verb), zap.String("resource", d.Resource), zap.String("namespace", d.Namespace),
			zap.String("user", d.User), zap.String("grant", d.Grant()), zap.Error(err))
	case apiFailing:
		if h.synced {
			h.log.Warn("EndpointSlice watch failing, keeping the last endpoints", zap.Error(err))
		} else {
			h.log.Warn("EndpointSlice watch failing; not ready until the first list succeeds", zap.Error(err))
		}
	}
}

// watchError receives the errors that end the informer's list-and-watch
// cycle. Expired resource versions and closed streams are routine: the
// reflector lists again.
func (h *apiHealth) watchError(ctx context.Context, _ *cache.Reflector, err error) {
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, io.EOF) {
		return
	}
	h.observe(ctx, "", err)
}

// markSynced records that the informer has listed the EndpointSlices once.
func (h *apiHealth) markSynced() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.synced = true
}

// check is nil while the source can follow its endpoints, or has before
// and keeps the last set while the API server is away. It is the refusal
// while the API server refuses, and the last failure while the first list
// has not succeeded.
func (h *apiHealth) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.state == apiForbidden:
		return h.denied
	case !h.synced && h.lastErr != nil:
		return fmt.Errorf("waiting for the first list of the EndpointSlices of service %s/%s: %w",
			h.up.Namespace, h.up.Service, h.lastErr)
	}
	return nil
}
