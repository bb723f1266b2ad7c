package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/annotations"
	"github.com/roundabout-dev/roundabout/agent/balancer"
	apiannotations "github.com/roundabout-dev/roundabout/api/annotations"
)

// startLive follows --annotations-file, when given, and applies strategy,
// hash-header and subset-size changes to every upstream without a restart.
func (a *agent) startLive(ctx context.Context, errc chan<- error) {
	if a.cfg.AnnotationsFile == "" {
		return
	}
	base := annotations.Live{Strategy: a.cfg.Strategy, HashHeader: a.cfg.HashHeader, SubsetSize: strconv.Itoa(a.cfg.SubsetSize)}
	a.wg.Go(func() {
		err := annotations.WatchLive(ctx, a.cfg.AnnotationsFile, base, a.log, a.applyLive)
		if err != nil {
			errc <- fmt.Errorf("--annotations-file: %w", err)
		}
	})
}

// applyLive swaps the strategy, hash header and subset size. An unknown
// strategy keeps the current one; the rejection is logged and shown in
// /debug/endpoints. A hash header that --hash-header would refuse keeps the
// current one and is logged; an empty one turns hashing off. A subset size
// the contract refuses keeps the current one and is logged.
func (a *agent) applyLive(l annotations.Live) {
	if n, err := apiannotations.ParseSubsetSize(l.SubsetSize); err != nil {
		a.log.Warn("invalid subset-size annotation; keeping the current one", zap.String("annotation", apiannotations.SubsetSize),
			zap.String("value", l.SubsetSize), zap.Error(err))
	} else {
		a.place.setSize(n)
	}
	b, err := balancer.Get(l.Strategy)
	if err != nil {
		reason := fmt.Sprintf("%s=%q: %v; keeping %s", apiannotations.Strategy, l.Strategy, err, a.upstreams[0].pool.Strategy())
		for _, u := range a.upstreams {
			u.pool.RejectStrategy(reason)
		}
		// Logged once /debug/endpoints shows the rejection.
		a.log.Warn("invalid strategy annotation", zap.String("annotation", apiannotations.Strategy),
			zap.String("value", l.Strategy), zap.Strings("allowed", balancer.Names()))
	} else {
		for _, u := range a.upstreams {
			u.pool.SetStrategy(b)
		}
	}
	if l.HashHeader != "" {
		if err := apiannotations.ValidHashHeader(l.HashHeader); err != nil {
			a.log.Warn("invalid hash-header annotation; keeping the current one",
				zap.String("annotation", apiannotations.HashHeader), zap.String("value", l.HashHeader), zap.Error(err))
			return
		}
	}
	for _, u := range a.upstreams {
		u.proxy.SetHashHeader(strings.ToLower(l.HashHeader))
	}
}
