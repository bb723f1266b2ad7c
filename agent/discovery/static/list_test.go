package static

import (
	"errors"
	"slices"
	"testing"
)

func TestParseList(t *testing.T) {
	data := "# greet servers\n" +
		"10.0.0.2:50051, 10.0.0.1:50051\r\n" +
		"\n" +
		"  10.0.0.3:50051  # the canary\n" +
		"10.0.0.1:50051,,\n" +
		"[::1]:50051"
	got, err := ParseList([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1:50051", "10.0.0.2:50051", "10.0.0.3:50051", "[::1]:50051"}
	if !slices.Equal(got, want) {
		t.Fatalf("ParseList = %q, want %q", got, want)
	}
}

func TestParseListEmpty(t *testing.T) {
	for _, data := range []string{"", "\n\n", "# nothing yet\n"} {
		got, err := ParseList([]byte(data))
		if err != nil || len(got) != 0 {
			t.Errorf("ParseList(%q) = %q, %v; want no endpoints", data, got, err)
		}
	}
}

func TestParseListBadEntry(t *testing.T) {
	data := "10.0.0.1:50051\n# comment\n10.0.0.2:50051, 10.0.0.3\n"
	_, err := ParseList([]byte(data))
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatalf("ParseList error = %v, want a *LineError", err)
	}
	if le.Line != 3 || le.Entry != "10.0.0.3" {
		t.Fatalf("LineError line %d entry %q, want line 3 entry %q", le.Line, le.Entry, "10.0.0.3")
	}
	want := `line 3: endpoint "10.0.0.3": missing port in address`
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}
