package podrunner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testImages(t *testing.T, names ...string) Images {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Images{Dir: dir}
}

func TestImagesResolve(t *testing.T) {
	im := testImages(t, "greet-server", "roundabout-agent")
	for _, image := range []string{
		"greet-server",
		"greet-server:v0.1.0",
		"ghcr.io/roundabout-dev/greet-server:v0.1.0",
		"localhost:5000/a/b/greet-server",
		"ghcr.io/roundabout-dev/greet-server@sha256:0123456789abcdef",
		"ghcr.io/roundabout-dev/greet-server:v1@sha256:0123456789abcdef",
	} {
		got, err := im.Resolve(image)
		if want := filepath.Join(im.Dir, "greet-server"); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", image, got, err, want)
		}
	}
}

func TestImagesResolveErrors(t *testing.T) {
	im := testImages(t, "greet-server")
	if err := os.WriteFile(filepath.Join(im.Dir, "not-exec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string][]string{
		"ghcr.io/x/greet-gateway:v1": {`"ghcr.io/x/greet-gateway:v1"`, filepath.Join(im.Dir, "greet-gateway"), "does not exist", "make build"},
		"not-exec":                   {`"not-exec"`, "not an executable"},
		"ghcr.io/x/":                 {"has no name"},
	} {
		_, err := im.Resolve(image)
		if err == nil {
			t.Errorf("Resolve(%q) succeeded", image)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%q) error %q does not contain %q", image, err, w)
			}
		}
	}
}
