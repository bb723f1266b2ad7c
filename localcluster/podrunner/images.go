package podrunner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Images maps container images to the project's binaries: the pod runner
// pulls nothing, and an image stands for the binary of the same name in Dir
// (the directory `make build` fills).
type Images struct {
	// Dir holds one executable per image name, e.g. Dir/greet-server.
	Dir string
}

// Resolve returns the binary that stands for image. The registry, the path,
// the tag and the digest are ignored: "ghcr.io/roundabout-dev/greet-server:v0.1.0"
// and "greet-server@sha256:..." both resolve to Dir/greet-server.
func (im Images) Resolve(image string) (string, error) {
	name := imageName(image)
	if name == "" {
		return "", fmt.Errorf("image %q has no name", image)
	}
	path := filepath.Join(im.Dir, name)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("no local binary for image %q: %s does not exist; run make build", image, path)
	case err != nil:
		return "", fmt.Errorf("no local binary for image %q: %w", image, err)
	case info.IsDir() || info.Mode()&0o111 == 0:
		return "", fmt.Errorf("no local binary for image %q: %s is not an executable file", image, path)
	}
	return path, nil
}

// imageName is the last path element of image without its digest or tag.
func imageName(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, '/'); i >= 0 {
		image = image[i+1:]
	}
	if i := strings.IndexByte(image, ':'); i >= 0 {
		image = image[:i]
	}
	return image
}
