package report

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// go test ./internal/report -run 'Markdown|Compare' -update rewrites the
// golden files; review the diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func readFixture(t *testing.T, name string) *results.File {
	t.Helper()
	f, err := results.Read(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update after checking):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n   got " + gl + "\n")
			shown++
		}
	}
	return b.String()
}

// markdown renders f as run does: rank, store, render.
func markdown(t *testing.T, f *results.File) []byte {
	t.Helper()
	if err := rank.Apply(f, "", 0); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Markdown(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMarkdownGolden(t *testing.T) {
	for _, tc := range []struct{ fixture, golden string }{
		{"results.json", "summary.golden.md"},
		{"results-3trials.json", "summary-3trials.golden.md"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			got := markdown(t, readFixture(t, tc.fixture))
			golden(t, tc.golden, got)
		})
	}
}

// The 3-trial file can separate nothing: every server ties for first and
// the summary says to run more trials.
func TestMarkdownThreeTrialsTie(t *testing.T) {
	got := string(markdown(t, readFixture(t, "results-3trials.json")))
	for _, want := range []string{
		"No server is measurably best for a CRUD app behind a cache: all 6 tie. 3 trials per run cannot separate them: run ≥ 5.",
		"| 1 (tie) | waitress |",
		"run ≥ 5 trials",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	verdict, _, _ := strings.Cut(got, "## Setup")
	for _, second := range []string{"| 2 |", "| 2 (tie) |", "**2. "} {
		if strings.Contains(verdict, second) {
			t.Errorf("a server placed second from 3 trials")
		}
	}
}

// report re-renders exactly what run wrote: through the results file and
// back, and with no stored verdict at all, the bytes are the same.
func TestMarkdownReproducible(t *testing.T) {
	f := readFixture(t, "results.json")
	want := markdown(t, f)
	path := filepath.Join(t.TempDir(), "results.json")
	if err := results.Write(path, f); err != nil {
		t.Fatal(err)
	}
	back, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Markdown(&b, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("re-rendered from disk differs:\n%s", lineDiff(string(want), b.String()))
	}
	bare := readFixture(t, "results.json") // no summaries, no verdict
	b.Reset()
	if err := Markdown(&b, bare); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("rendered without a stored verdict differs:\n%s", lineDiff(string(want), b.String()))
	}
	if bare.Verdict != nil || bare.Runs[0].Summary != nil {
		t.Errorf("Markdown changed the file it rendered")
	}
	// Run order in the file does not matter.
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10; i++ {
		g := readFixture(t, "results.json")
		rng.Shuffle(len(g.Runs), func(i, j int) { g.Runs[i], g.Runs[j] = g.Runs[j], g.Runs[i] })
		if got := markdown(t, g); !bytes.Equal(got, want) {
			t.Fatalf("shuffled runs changed summary.md:\n%s", lineDiff(string(want), string(got)))
		}
	}
}

func TestMarkdownEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, &results.File{Schema: results.Schema}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Nothing to rank") {
		t.Errorf("empty file:\n%s", b.String())
	}
}

func TestCompareGolden(t *testing.T) {
	old, cur := readFixture(t, "results-3trials.json"), readFixture(t, "results.json")
	var b bytes.Buffer
	if err := Compare(&b, "results-3trials.json", old, "results.json", cur, 0); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.golden.txt", b.Bytes())
	out := b.String()
	for _, want := range []string{
		"only in new: cheroot 1x8",
		"failed in new: mod_wsgi 4x8: starting mod_wsgi",
		"~ (p=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q", want)
		}
	}
	// A file against itself: nothing changed, and 5 vs 5 trials could have
	// shown it, so no warning about sample sizes.
	b.Reset()
	if err := Compare(&b, "a", cur, "b", cur, 0); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "%  (p") || strings.Contains(b.String(), "run ≥") {
		t.Errorf("self-comparison shows a change or a warning:\n%s", b.String())
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "(p=") && !strings.Contains(line, "~ (p=1.00 n=5)") {
			t.Errorf("self-comparison line: %q", line)
		}
	}
}

func TestTable(t *testing.T) {
	f := readFixture(t, "results.json")
	if err := rank.Apply(f, "", 0); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	Table(&b, f)
	out := b.String()
	for _, want := range []string{"SERVER", "granian", "generator-bound", "FAILED mod_wsgi 4x8: starting mod_wsgi", f.Verdict.Headline} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		e    results.Estimate
		want string
	}{
		{results.Estimate{Median: 1000, Lo: 970, Hi: 1020, N: 5}, "1000 ±3%"},
		{results.Estimate{Median: 1000, Lo: 996, Hi: 1002, N: 5}, "1000 ±0.4%"},
		{results.Estimate{Median: 1000, Lo: 1000, Hi: 1000, N: 1}, "1000"},
		{results.Estimate{}, "-"},
	} {
		if got := mdInterval(tc.e, mdFixed(0)); got != tc.want {
			t.Errorf("mdInterval(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
	if s := superscript(12); s != "¹²" {
		t.Errorf("superscript(12) = %q", s)
	}
}

// Runs with the same throughput keep one order whatever the file's order.
func TestRowsOrder(t *testing.T) {
	f := readFixture(t, "results.json")
	twin := f.Runs[1]
	twin.Server = "aaa-twin"
	f.Runs = append(f.Runs, twin)
	var want []string
	for _, r := range Rows(f) {
		want = append(want, r.Run.Key())
	}
	for i, j := 0, len(f.Runs)-1; i < j; i, j = i+1, j-1 {
		f.Runs[i], f.Runs[j] = f.Runs[j], f.Runs[i]
	}
	var got []string
	for _, r := range Rows(f) {
		got = append(got, r.Run.Key())
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("reversed runs give rows\n%q\nnot\n%q", got, want)
	}
}

// compare's first line after the files says whether the two put the same
// servers first, by this version's rules.
func TestCompareVerdict(t *testing.T) {
	cur := readFixture(t, "results.json")
	if err := rank.Apply(cur, rank.DefaultProfile, 0); err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, rk := range cur.Ranking {
		if rk.Position == 1 {
			top = append(top, rk.Server)
		}
	}
	if len(top) == 0 {
		t.Fatal("fixture has no first place")
	}
	if got := verdictChange(cur, cur); !strings.HasSuffix(got, ": the same servers") {
		t.Errorf("a file against itself: %q", got)
	}
	// A stored ranking from "another version" that put someone else first.
	stale := readFixture(t, "results.json")
	if err := rank.Apply(stale, rank.DefaultProfile, 0); err != nil {
		t.Fatal(err)
	}
	for i := range stale.Ranking {
		stale.Ranking[i].Position = 2
	}
	stale.Ranking[len(stale.Ranking)-1].Position = 1
	got := verdictChange(stale, cur)
	if !strings.HasSuffix(got, ": the same servers (old's file stores "+stale.Ranking[len(stale.Ranking)-1].Server+", ranked by another version of the rules)") {
		t.Errorf("stale stored ranking: %q", got)
	}
	if got := verdictChange(&results.File{}, cur); got != "" {
		t.Errorf("no ranking in old: %q", got)
	}
}
