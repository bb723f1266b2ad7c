package main

import (
	"strings"
	"testing"
)

func TestWriteTablePadsEveryColumnToItsWidestCell(t *testing.T) {
	var b strings.Builder
	err := writeTable(&b, []string{"target", "rps"}, [][]string{{"haproxy", "11000"}, {"agent", "–"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "| target  | rps   |\n" +
		"| ------- | ----- |\n" +
		"| haproxy | 11000 |\n" +
		"| agent   | –     |\n"
	if b.String() != want {
		t.Fatalf("writeTable wrote\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTargetRowFillsSkippedTargetWithDashes(t *testing.T) {
	row := targetRow(target{ID: idAgent, Label: "agent", Skip: "not built"}, target{}, target{})
	if len(row) != len(tableHeader) || row[1] != "skipped: not built" || row[len(row)-1] != none {
		t.Fatalf("skipped row = %q", row)
	}
}

func TestRatioCellComparesWithBaseButNotWithItself(t *testing.T) {
	haproxy := target{ID: idHAProxy, Saturated: &load{RPS: 10000}}
	agent := target{ID: idAgent, Saturated: &load{RPS: 10500}}
	if got := ratioCell(agent, haproxy); got != "1.05x" {
		t.Errorf("agent vs haproxy = %q, want 1.05x", got)
	}
	if got := ratioCell(haproxy, haproxy); got != none {
		t.Errorf("haproxy vs itself = %q, want %q", got, none)
	}
}

func TestSplitCellAndLegendFollowEndpointOrder(t *testing.T) {
	split := []serverCount{{"127.0.1.2:50051", 10}, {"127.0.1.3:50051", 11}}
	if got := splitCell(split); got != "10 / 11" {
		t.Errorf("splitCell = %q, want \"10 / 11\"", got)
	}
	legend := splitLegend([]target{{ID: idDirect}, {ID: idHAProxy, Split: split}})
	if !strings.HasSuffix(legend, "127.0.1.2:50051 / 127.0.1.3:50051") {
		t.Errorf("splitLegend = %q, want it to end with the endpoints in order", legend)
	}
}

func TestCPUCellsFollowTheirRunsAndMarkAShortfall(t *testing.T) {
	proxy := target{ID: idHAProxy, Label: "haproxy",
		Idle: &load{TargetRPS: 500, RPS: 400, Count: 1200},
		Seq:  &load{RPS: 4000, Count: 12000},
		CPU:  map[string]int64{keyClkTck: 100, runIdle: 18, runSeq: 120}}
	row := targetRow(proxy, target{}, target{})
	col := map[string]string{}
	for i, h := range tableHeader {
		col[h] = row[i]
	}
	if got := col["CPU µs/call @500 rps"]; got != "150 (only 400 of 500 rps)" {
		t.Errorf("500 rps cell = %q", got)
	}
	if got := col["c=1"]; got != "100" {
		t.Errorf("c=1 cell = %q", got)
	}
	if got := col["@2000 rps"]; got != none {
		t.Errorf("2000 rps cell without the run = %q, want %q", got, none)
	}
}
