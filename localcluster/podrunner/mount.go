package podrunner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// maxSymlinks bounds the symlinks followed while resolving a path.
const maxSymlinks = 40

// Mount bind-mounts hostPath (a file or a directory of the node) at
// containerPath in the pod's mount namespace, read-only if asked. Symlinks
// in containerPath's parents are resolved in the pod's file system (so
// /var/run/x is /run/x). When the mount point, or one of its parents, is
// missing, or is a symlink, the nearest existing parent directory is first
// overlaid, privately to the pod, so the mount point can be made without
// touching the node's file system.
func (s *Sandbox) Mount(hostPath, containerPath string, readOnly bool) error {
	if !path.IsAbs(containerPath) {
		return fmt.Errorf("mount %s: container path %q is not absolute", hostPath, containerPath)
	}
	info, err := os.Stat(hostPath)
	if err != nil {
		return fmt.Errorf("mount at %s: host path: %w", containerPath, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed {
		return fmt.Errorf("mount at %s: sandbox %s is destroyed", containerPath, s.cfg.IP)
	}
	target, err := s.resolve(containerPath)
	if err != nil {
		return fmt.Errorf("mount at %s: %w", containerPath, err)
	}
	if err := s.mountPoint(target, info.IsDir()); err != nil {
		return fmt.Errorf("mount at %s: %w", containerPath, err)
	}
	script := `mount --bind "$1" "$2"`
	if readOnly {
		script += ` && mount -o remount,bind,ro "$2"`
	}
	return s.inMountNS(script, hostPath, target)
}

// inMountNS runs a shell script with args in the pod's mount namespace.
func (s *Sandbox) inMountNS(script string, args ...string) error {
	argv := append([]string{"-t", s.pidArg(), "-m", "--", "sh", "-c", script, "sh"}, args...)
	return s.run(context.Background(), nil, "nsenter", argv...)
}

// root is the pod's file system as seen from the node.
func (s *Sandbox) root() string { return "/proc/" + s.pidArg() + "/root" }

// resolve follows the symlinks of p's parents in the pod's file system and
// returns p with them resolved; its last element is kept as it is. Missing
// parents are kept as written.
func (s *Sandbox) resolve(p string) (string, error) {
	dir, base := path.Split(path.Clean(p))
	todo := strings.FieldsFunc(dir, func(r rune) bool { return r == '/' })
	cur := "/"
	for links := 0; len(todo) > 0; {
		next := path.Join(cur, todo[0])
		todo = todo[1:]
		fi, err := os.Lstat(s.root() + next)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("too many symlinks in %s", p)
		}
		link, err := os.Readlink(s.root() + next)
		if err != nil {
			return "", err
		}
		if path.IsAbs(link) {
			cur = "/"
		}
		todo = append(strings.FieldsFunc(link, func(r rune) bool { return r == '/' }), todo...)
	}
	return path.Join(cur, base), nil
}

// mountPoint makes sure target exists in the pod's file system as a
// directory or a file, overlaying its nearest existing parent when it does
// not.
func (s *Sandbox) mountPoint(target string, dir bool) error {
	hostView := s.root() + target
	fi, err := os.Lstat(hostView)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink == 0:
		if fi.IsDir() != dir {
			return fmt.Errorf("mount point %s exists but is not a %s", target, kind(dir))
		}
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	anc := s.existingParent(target)
	if !s.overlaid(anc) {
		if err := s.overlay(anc); err != nil {
			return err
		}
	}
	if err == nil { // a symlink, replaced in the overlay
		if err := os.Remove(hostView); err != nil {
			return err
		}
	}
	return makeMountPoint(hostView, dir)
}

func kind(dir bool) string {
	if dir {
		return "directory"
	}
	return "file"
}

func makeMountPoint(p string, dir bool) error {
	if dir {
		return os.MkdirAll(p, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// existingParent is the nearest parent directory of target that exists in
// the pod's file system.
func (s *Sandbox) existingParent(target string) string {
	for p := path.Dir(target); ; p = path.Dir(p) {
		if fi, err := os.Stat(s.root() + p); (err == nil && fi.IsDir()) || p == "/" {
			return p
		}
	}
}

// overlaid reports whether dir is in a directory already overlaid.
func (s *Sandbox) overlaid(dir string) bool {
	for _, o := range s.overlays {
		if dir == o || strings.HasPrefix(dir, strings.TrimSuffix(o, "/")+"/") {
			return true
		}
	}
	return false
}

// overlay mounts, in the pod's mount namespace, a writable overlay of dir
// whose upper layer lives in the sandbox's directory. The mounts below dir
// would be hidden by the overlay, so they are moved aside and back on top.
func (s *Sandbox) overlay(dir string) error {
	base := filepath.Join(s.cfg.Dir, "overlay", strconv.Itoa(len(s.overlays)))
	upper, work, stash := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "stash")
	for _, d := range []string{upper, work, stash} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	subs, err := s.submounts(dir)
	if err != nil {
		return err
	}
	var script strings.Builder
	var args []string
	for i, m := range subs {
		fi, err := os.Stat(s.root() + m)
		if err != nil {
			return err
		}
		aside := filepath.Join(stash, strconv.Itoa(i))
		if err := makeMountPoint(aside, fi.IsDir()); err != nil {
			return err
		}
		fmt.Fprintf(&script, `mount --rbind "$%d" "$%d" && `, len(args)+1, len(args)+2)
		args = append(args, m, aside)
	}
	fmt.Fprintf(&script, `mount -t overlay overlay -o "lowerdir=$%d,upperdir=$%d,workdir=$%d" "$%d"`,
		len(args)+1, len(args)+2, len(args)+3, len(args)+1)
	args = append(args, dir, upper, work)
	for i := range subs {
		fmt.Fprintf(&script, ` && mount --move "$%d" "$%d"`, 2*i+2, 2*i+1)
	}
	if err := s.inMountNS(script.String(), args...); err != nil {
		return fmt.Errorf("overlay %s: %w", dir, err)
	}
	s.overlays = append(s.overlays, dir)
	s.log.Info("overlaid a directory of the pod's file system", zap.String("dir", dir))
	return nil
}

// submounts lists the mount points strictly below dir in the pod's mount
// namespace, leaving out those below another of them (an rbind carries
// them).
func (s *Sandbox) submounts(dir string) ([]string, error) {
	f, err := os.Open("/proc/" + s.pidArg() + "/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	prefix := strings.TrimSuffix(dir, "/") + "/"
	var below []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.HasPrefix(unescapeMountinfo(fields[4]), prefix) {
			below = append(below, unescapeMountinfo(fields[4]))
		}
	}
	return outermost(below), sc.Err()
}

// outermost keeps the mount points of mps that are not below another one,
// in the order they first appear.
func outermost(mps []string) []string {
	var out []string
	for _, mp := range mps {
		if !underAny(mp, out) {
			out = append(removeUnder(out, mp), mp)
		}
	}
	return out
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func removeUnder(list []string, dir string) []string {
	out := list[:0]
	for _, p := range list {
		if !strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// /proc/*/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
