package config

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger returns a JSON logger at level (one of annotations.LogLevels)
// with ISO 8601 timestamps and durations as text, writing to standard error.
// Sampling is off: every state change is one line, and a burst of them (a
// Service scaled to 150 pods) must not be thinned out.
func NewLogger(level string) (*zap.Logger, error) {
	if err := validateLogLevel(level); err != nil {
		return nil, err
	}
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.EncoderConfig.EncodeDuration = zapcore.StringDurationEncoder
	cfg.Sampling = nil
	return cfg.Build()
}
