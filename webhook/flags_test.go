package main

import (
	"strings"
	"testing"

	"github.com/roundabout-dev/roundabout/webhook/server"
)

func env(ns string) func(string) string {
	return func(k string) string {
		if k == "POD_NAMESPACE" {
			return ns
		}
		return ""
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	o, level, err := parseFlags([]string{"--agent-image=example.com/agent:v1"}, env("roundabout-system"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Namespace != "roundabout-system" || o.TLSMode != server.TLSSelfSigned || o.Port != 9443 || level != "info" {
		t.Errorf("defaults: namespace %q, tls mode %q, port %d, level %q", o.Namespace, o.TLSMode, o.Port, level)
	}
	if o.Inject.ClusterDomain != "cluster.local" {
		t.Errorf("default --cluster-domain=%q, want cluster.local", o.Inject.ClusterDomain)
	}
	if o.NativeSidecar != server.NativeSidecarAuto {
		t.Errorf("default --native-sidecar=%q, want %q", o.NativeSidecar, server.NativeSidecarAuto)
	}
}

func TestParseFlagsErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ns   string
		want string
	}{
		{nil, "roundabout-system", "--agent-image"},
		{[]string{"--agent-image=a"}, "", "POD_NAMESPACE"},
		{[]string{"--agent-image=a", "--agent-image-pull-policy=Sometimes"}, "n", `--agent-image-pull-policy="Sometimes"`},
		{[]string{"--agent-image=a", "--tls-mode=acme"}, "n", `--tls-mode="acme"`},
		{[]string{"--agent-image=a", "--port=0"}, "n", "--port=0"},
		{[]string{"--agent-image=a", "--tls-mode=cert-dir", "--cert-dir="}, "n", "--cert-dir"},
		{[]string{"--agent-image=a", "stray"}, "n", `unexpected argument "stray"`},
		{[]string{"--agent-image=a", "--cluster-domain=Cluster_Local"}, "n", `--cluster-domain="Cluster_Local"`},
		{[]string{"--agent-image=a", "--native-sidecar=sometimes"}, "n", `--native-sidecar="sometimes": allowed: auto, always, never`},
	} {
		_, _, err := parseFlags(tc.args, env(tc.ns))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) with POD_NAMESPACE=%q: %v; want an error naming %s", tc.args, tc.ns, err, tc.want)
		}
	}
}

func TestNewLoggerRejectsUnknownLevel(t *testing.T) {
	if _, err := newLogger("loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("newLogger(loud) = %v; want an error naming --log-level", err)
	}
}
