package annotations

import (
	"context"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/filewatch"
	apiannotations "github.com/roundabout-dev/roundabout/api/annotations"
)

// Live holds the settings a running pod may change through its
// annotations.
type Live struct {
	// Strategy is the value of the roundabout.dev/strategy annotation.
	Strategy string
	// HashHeader is the value of the roundabout.dev/hash-header annotation.
	HashHeader string
	// SubsetSize is the value of the roundabout.dev/subset-size
	// annotation, unparsed: the agent validates it when applying it.
	SubsetSize string
}

// liveFrom reads the live settings from annotations, falling back to base
// for those that are absent.
func liveFrom(a map[string]string, base Live) Live {
	out := base
	if v, ok := a[apiannotations.Strategy]; ok {
		out.Strategy = v
	}
	if v, ok := a[apiannotations.HashHeader]; ok {
		out.HashHeader = v
	}
	if v, ok := a[apiannotations.SubsetSize]; ok {
		out.SubsetSize = v
	}
	return out
}

// WatchLive watches the downward-API annotations file at path and calls
// apply with the live settings at start and whenever they change.
// Settings absent from the file take their value from base, the agent's
// flags. A file that cannot be parsed keeps the previous settings and is
// logged. WatchLive blocks until ctx ends.
func WatchLive(ctx context.Context, path string, base Live, log *zap.Logger, apply func(Live)) error {
	var last *Live
	onChange := func(data []byte) {
		a, err := ParseFile(data)
		if err != nil {
			log.Error("annotations file unreadable; keeping the current settings", zap.String("file", path), zap.Error(err))
			return
		}
		live := liveFrom(a, base)
		if last != nil && *last == live {
			return
		}
		last = &live
		apply(live)
	}
	return filewatch.Watch(ctx, path, onChange, filewatch.WithLogger(log))
}
