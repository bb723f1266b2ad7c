// Package filewatchtest writes files the way the kubelet publishes
// downward-API and ConfigMap volumes, for tests of code that watches them.
package filewatchtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// KubeletDir is a volume directory holding one file, updated as the
// kubelet's AtomicWriter does: each version goes into a new timestamped
// directory, a ..data_tmp symlink to it is renamed over ..data, the old
// directory is removed, and the file itself is a symlink through ..data.
type KubeletDir struct {
	t    testing.TB
	dir  string
	name string
	gen  int
	cur  string
}

// NewKubeletDir publishes content as dir/name.
func NewKubeletDir(t testing.TB, dir, name, content string) *KubeletDir {
	t.Helper()
	k := &KubeletDir{t: t, dir: dir, name: name}
	k.Write(content)
	k.must(os.Symlink(filepath.Join("..data", name), k.Path()))
	return k
}

// Path is the file's path, the one a pod reads.
func (k *KubeletDir) Path() string { return filepath.Join(k.dir, k.name) }

// Write publishes a new version of the file.
func (k *KubeletDir) Write(content string) {
	k.t.Helper()
	k.gen++
	ts := fmt.Sprintf("..2026_11_26_01_00_00.%09d", k.gen)
	k.must(os.Mkdir(filepath.Join(k.dir, ts), 0o755))
	k.must(os.WriteFile(filepath.Join(k.dir, ts, k.name), []byte(content), 0o644))
	tmp := filepath.Join(k.dir, "..data_tmp")
	k.must(os.Symlink(ts, tmp))
	k.must(os.Rename(tmp, filepath.Join(k.dir, "..data")))
	if k.cur != "" {
		k.must(os.RemoveAll(filepath.Join(k.dir, k.cur)))
	}
	k.cur = ts
}

func (k *KubeletDir) must(err error) {
	k.t.Helper()
	if err != nil {
		k.t.Fatal(err)
	}
}
