package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Files a target directory may hold; bench.sh writes them.
const (
	fileLabel  = "label"  // display name, one line
	fileSkip   = "skip"   // why the target was not measured
	fileMemory = "memory" // key=value lines, sizes in KiB
	fileCPU    = "cpu"    // key=value lines: clk_tck, and clock ticks per run
	fileSplit  = "split"  // "endpoint count" lines
)

// Runs a target directory may hold, each as ghz JSON reports: RUN.json for
// a run made once, RUN.1.json, RUN.2.json and so on for one made in rounds.
// The same names are the keys of the cpu file, each with the utime+stime
// ticks the proxy used during the run, one line per round; keyClkTck is
// the clock ticks per second.
const (
	keyClkTck  = "clk_tck"
	runSat     = "c50"     // full speed, c=50
	runPaced   = "rps1000" // a fixed 1000 rps
	runServing = "rps2000" // a fixed 2000 rps, memory sampled meanwhile
	runIdle    = "rps500"  // proxies: a fixed 500 rps
	runSeq     = "c1"      // proxies: c=1, as fast as it goes
)

// Keys of the memory file, each the largest value over the lines that give
// it (one per round of the 2000 rps run).
const (
	keyPeakHWM    = "peak_hwm_kib"    // VmHWM after every run of the target
	keyServingRSS = "serving_rss_kib" // highest VmRSS sampled while serving 2000 rps
	keyServingHWM = "serving_hwm_kib" // VmHWM at the end of the 2000 rps run
)

// target is one row of the table. Its id is the directory name without the
// leading "N-" that orders the rows: direct, agent, haproxy or nginx.
type target struct {
	ID        string
	Label     string
	Skip      string
	Saturated *load
	Paced     *load
	Serving   *load
	Idle      *load
	Seq       *load
	Memory    map[string]int64
	CPU       map[string]int64
	Split     []serverCount
}

type serverCount struct {
	Endpoint string
	Requests int64
}

// readTargets loads every target directory under dir, in name order.
func readTargets(dir string) ([]target, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var targets []target
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := readTarget(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%s: no target directories", dir)
	}
	return targets, nil
}

func readTarget(dir string) (target, error) {
	name := filepath.Base(dir)
	_, id, ok := strings.Cut(name, "-")
	if !ok {
		return target{}, fmt.Errorf("%s: directory name must be N-id", dir)
	}
	t := target{ID: id, Label: readLine(filepath.Join(dir, fileLabel), id)}
	t.Skip = readLine(filepath.Join(dir, fileSkip), "")
	if t.Skip != "" {
		return t, nil
	}
	var err error
	for _, r := range []struct {
		run string
		to  **load
	}{{runSat, &t.Saturated}, {runPaced, &t.Paced}, {runServing, &t.Serving}, {runIdle, &t.Idle}, {runSeq, &t.Seq}} {
		if *r.to, err = readRun(dir, r.run); err != nil {
			return t, err
		}
	}
	if t.Memory, err = readMemory(filepath.Join(dir, fileMemory)); err != nil {
		return t, err
	}
	if t.CPU, err = readCPU(filepath.Join(dir, fileCPU)); err != nil {
		return t, err
	}
	t.Split, err = readSplit(filepath.Join(dir, fileSplit))
	return t, err
}

// readLine returns the first line of path, or def when the file is absent.
func readLine(path, def string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return strings.TrimSpace(line)
}

// readRun reads the reports of run in dir, RUN.json or its rounds
// RUN.N.json, and combines them. It returns nil when there is none.
func readRun(dir, run string) (*load, error) {
	paths, err := filepath.Glob(filepath.Join(dir, run+".[0-9]*.json"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, run+".json")); err == nil {
		paths = append(paths, filepath.Join(dir, run+".json"))
	}
	if len(paths) == 0 {
		return nil, nil
	}
	rounds := make([]load, 0, len(paths))
	for _, p := range paths {
		l, err := readLoad(p)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, l)
	}
	l, err := combine(rounds)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", dir, run, err)
	}
	return &l, nil
}

// readMemory reads the memory file, keeping the largest value of a key.
func readMemory(path string) (map[string]int64, error) {
	return readKeyInts(path, "a number of KiB", func(a, b int64) int64 { return max(a, b) })
}

// readCPU reads the cpu file, adding up the rounds of a run.
func readCPU(path string) (map[string]int64, error) {
	return readKeyInts(path, "a number of clock ticks", func(a, b int64) int64 { return a + b })
}

// readKeyInts reads key=value lines of integers, merging the values of a
// key that appears again; what names the unit in errors.
func readKeyInts(path, what string, merge func(a, b int64) int64) (map[string]int64, error) {
	m := map[string]int64{}
	err := scanFields(path, "=", func(key, value string) error {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %s=%q is not %s", path, key, value, what)
		}
		if old, ok := m[key]; ok {
			n = merge(old, n)
		}
		m[key] = n
		return nil
	})
	return m, err
}

// cpuPerCall is the CPU time the proxy used during run, in microseconds per
// call answered OK in l, the run's report. It reports false when either is
// missing or no call was answered.
func (t target) cpuPerCall(run string, l *load) (float64, bool) {
	ticks, ok := t.CPU[run]
	hz := t.CPU[keyClkTck]
	if !ok || hz <= 0 || l == nil || l.OK() <= 0 {
		return 0, false
	}
	return float64(ticks) * 1e6 / float64(hz) / float64(l.OK()), true
}

func readSplit(path string) ([]serverCount, error) {
	var split []serverCount
	err := scanFields(path, " ", func(endpoint, value string) error {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: count %q of %s is not a number", path, value, endpoint)
		}
		split = append(split, serverCount{Endpoint: endpoint, Requests: n})
		return nil
	})
	sort.Slice(split, func(i, j int) bool { return split[i].Endpoint < split[j].Endpoint })
	return split, err
}

// scanFields calls fn with the two halves of every non-empty line of path,
// split at the first sep. A missing file is not an error: it has no lines.
func scanFields(path, sep string, fn func(a, b string) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		a, b, ok := strings.Cut(line, sep)
		if !ok {
			return fmt.Errorf("%s: line %q has no %q", path, line, sep)
		}
		if err := fn(strings.TrimSpace(a), strings.TrimSpace(b)); err != nil {
			return err
		}
	}
	return sc.Err()
}
