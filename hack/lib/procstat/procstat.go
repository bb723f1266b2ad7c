// Package procstat reads what a Linux process uses from /proc, for the
// measuring tools under hack/: CPU time from /proc/PID/stat and memory and
// thread counts from /proc/PID/status.
package procstat

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime: 100 on Linux.
const clockTick = 10 * time.Millisecond

// Stat is what the measuring tools read from /proc/PID/stat.
type Stat struct {
	Comm string        // the command name
	PPID int           // the parent's pid
	CPU  time.Duration // utime+stime
}

// ReadStat reads /proc/pid/stat. The command may hold spaces and
// parentheses, so the fields are counted from its last closing parenthesis.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	rest := strings.Fields(s[closing+1:]) // rest[0] is field 3, state
	if len(rest) < 13 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ppid, err1 := strconv.Atoi(rest[1])
	utime, err2 := strconv.ParseInt(rest[11], 10, 64)
	stime, err3 := strconv.ParseInt(rest[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return Stat{Comm: s[open+1 : closing], PPID: ppid, CPU: time.Duration(utime+stime) * clockTick}, nil
}

// ReadStatus reads the named fields of /proc/pid/status (VmRSS, VmHWM,
// Threads, ...) as numbers: kB for the memory fields, counts for the
// others. A field that is not there is an error.
func ReadStatus(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(fields))
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(fields, k) {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		out[k] = n
	}
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, f)
		}
	}
	return out, nil
}
