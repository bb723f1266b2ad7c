package config

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger returns a JSON logger at level (one of LogLevels) with
// ISO 8601 timestamps, writing to standard error.
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
	return cfg.Build()
}
