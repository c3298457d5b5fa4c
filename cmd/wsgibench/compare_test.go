package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The whole command, on the report package's fixtures: its output is the
// golden file report's own test checks, so the two cannot drift.
func TestCompareCommand(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "report", "testdata")
	old, cur := filepath.Join(dir, "results-3trials.json"), filepath.Join(dir, "results.json")
	want, err := os.ReadFile(filepath.Join(dir, "compare.golden.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The golden file names the fixtures by their base names.
	want = bytes.ReplaceAll(want, []byte("old: results-3trials.json"), []byte("old: "+old))
	want = bytes.ReplaceAll(want, []byte("new: results.json"), []byte("new: "+cur))
	for _, args := range [][]string{
		{old, cur},
		{"--alpha", "0.05", old, cur},
		{old, cur, "-alpha=0.05"},
	} {
		var stdout, stderr bytes.Buffer
		if err := cmdCompare(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("compare %v: %v", args, err)
		}
		if !bytes.Equal(stdout.Bytes(), want) {
			t.Errorf("compare %v: output differs from compare.golden.txt:\n%s", args, stdout.String())
		}
	}
}

func TestCompareCommandErrors(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "report", "testdata")
	cur := filepath.Join(dir, "results.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{cur}, "compare: want two results files, old and new (got 1)"},
		{[]string{cur, cur, cur}, "compare: want two results files, old and new (got 3)"},
		{[]string{"--alpha", "2", cur, cur}, "compare: --alpha 2 is not between 0 and 1"},
		{[]string{filepath.Join(dir, "nope.json"), cur}, "no such file"},
		{[]string{"--bogus", cur, cur}, "usage"},
	} {
		var stdout, stderr bytes.Buffer
		err := cmdCompare(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compare %v: error %v, want %q", tc.args, err, tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := cmdCompare(context.Background(), []string{"-h"}, &stdout, &stderr); err != errHelp {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(stderr.String(), "usage: wsgibench compare") {
		t.Errorf("-h printed %q", stderr.String())
	}
}
