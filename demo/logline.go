package demo

import (
	"encoding/json"
	"fmt"
	"strings"
)

// hiddenLogFields are left out when a JSON log line is shown.
var hiddenLogFields = map[string]bool{"level": true, "ts": true, "caller": true, "msg": true, "logger": true}

// readableLog renders one of zap's JSON log lines as
// "15:04:05.000 message key=value ...", keeping the fields' order. A line
// that is not JSON is returned as it is.
func readableLog(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return line
	}
	var ts, msg string
	var fields []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return line
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return line
		}
		k := fmt.Sprint(key)
		switch {
		case k == "ts":
			ts = clock(fmt.Sprint(v))
		case k == "msg":
			msg = fmt.Sprint(v)
		case !hiddenLogFields[k]:
			fields = append(fields, k+"="+compact(v))
		}
	}
	return strings.TrimSpace(ts + " " + msg + " " + strings.Join(fields, " "))
}

// clock keeps the time of day of an RFC 3339 timestamp.
func clock(ts string) string {
	if i := strings.IndexByte(ts, 'T'); i >= 0 {
		ts = ts[i+1:]
	}
	return strings.TrimSuffix(ts, "Z")
}

// compact renders a field's value on one line.
func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
