package annotations

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseFile reads a downward-API annotations file, as the kubelet writes
// it for a `metadata.annotations` fieldRef: one key="value" per line, the
// value quoted as a Go string.
func ParseFile(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		key, quoted, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not key=\"value\"", n, line)
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %s is not a quoted string: %v", n, key, err)
		}
		out[key] = value
	}
	return out, sc.Err()
}
