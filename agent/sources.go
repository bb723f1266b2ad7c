package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/config"
	"github.com/roundabout-dev/roundabout/agent/discovery/static"
)

// sourceFactory picks where endpoints come from: the static flags, or the
// Kubernetes EndpointSlices of each upstream's Service.
func sourceFactory(cfg *config.Config, log *zap.Logger) (sourceFunc, error) {
	switch {
	case cfg.EndpointsFile != "":
		return func(string) (source, error) {
			return source{Source: static.NewFile(cfg.EndpointsFile, log)}, nil
		}, nil
	case len(cfg.Endpoints) > 0:
		return func(string) (source, error) {
			s, err := static.New(cfg.Endpoints)
			if err != nil {
				return source{}, fmt.Errorf("--endpoints: %w", err)
			}
			return source{Source: s}, nil
		}, nil
	}
	return kubernetesSources(cfg, log)
}
