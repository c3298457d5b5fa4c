package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// TestResumeAfterKill: a run SIGKILLed in the middle of a trial leaves no
// server behind; --resume keeps its finished trials, runs the rest of the
// plan once each, and comes to the verdict an uninterrupted run of the
// same plan and seed comes to. Two servers far apart (waitress serves a
// single-threaded 1x1 several times faster than a sync gunicorn worker,
// in half the memory) so that four trials each separate them.
func TestResumeAfterKill(t *testing.T) {
	needServers(t)
	plan := []string{"run", "--servers", "waitress,gunicorn-sync", "--workers", "1", "--threads", "1",
		"--trials", "4", "--duration", "500ms", "--warmup", "0s", "--connections", "8", "--seed", "7", "--no-check",
		"--no-probe", "--no-trouble", "--no-capacity", "--no-ceiling",
		// Every cell gets all its trials, so the plan is the same however
		// fast the machine is: racing would stop gunicorn-sync after 3 of
		// them on a quiet machine and not on a busy one. Resuming a race
		// is TestRaceResumeAnywhere's (package plan).
		"--no-racing"}
	const steps = 8

	ref := t.TempDir()
	if r := runBinary(t, 3*time.Minute, append(plan, "--out", ref)...); r.code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", r.code, r.stderr)
	}

	out := t.TempDir()
	cmd := exec.Command(binary, append(plan, "--out", out)...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it while a server is up after two trials finished: mid-trial.
	deadline := time.Now().Add(2 * time.Minute)
	for !(finishedTrials(stderr.String()) >= 2 && len(leftovers(cmd.Process.Pid)) > 0) {
		if time.Now().After(deadline) || finishedTrials(stderr.String()) >= steps-1 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("never caught a trial in progress after the second\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitNoLeftovers(t, cmd.Process.Pid, 20*time.Second)

	before, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if before.Complete || len(before.Plan.Order) < 2 || len(before.Plan.Order) >= steps {
		t.Fatalf("killed run holds %d steps (complete %v); want an interrupted one\n%s", len(before.Plan.Order), before.Complete, stderr.String())
	}

	// Refusals: other options, another machine, a finished run.
	if r := runBinary(t, time.Minute, "run", "--resume", out, "--trials", "5"); r.code == 0 || !strings.Contains(lastLine(r.stderr), "--trials 5 is not the interrupted run's 4") {
		t.Errorf("resume with other trials: exit %d, %q", r.code, lastLine(r.stderr))
	}
	other := t.TempDir()
	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	raw["machine"].(map[string]any)["hostname"] = "elsewhere"
	b, _ = json.Marshal(raw)
	os.WriteFile(filepath.Join(other, "results.json"), b, 0o644)
	if r := runBinary(t, time.Minute, "run", "--resume", other); r.code == 0 || !strings.Contains(lastLine(r.stderr), "machine differs") || !strings.Contains(lastLine(r.stderr), "hostname") {
		t.Errorf("resume on another machine: exit %d, %q", r.code, lastLine(r.stderr))
	}
	if r := runBinary(t, time.Minute, "run", "--resume", ref); r.code == 0 || !strings.Contains(lastLine(r.stderr), "that run finished") {
		t.Errorf("resume of a finished run: exit %d, %q", r.code, lastLine(r.stderr))
	}

	r := runBinary(t, 3*time.Minute, "run", "--resume", out)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	waitNoLeftovers(t, r.pid, 20*time.Second)
	after, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !after.Complete || len(after.Resumed) != 1 {
		t.Errorf("complete %v, resumed %v", after.Complete, after.Resumed)
	}
	order := after.Plan.Order
	if len(order) != steps || !slices.Equal(order[:len(before.Plan.Order)], before.Plan.Order) {
		t.Errorf("order %v does not continue %v", order, before.Plan.Order)
	}
	if u := slices.Compact(slices.Sorted(slices.Values(order))); len(u) != steps {
		t.Errorf("order %v repeats a step", order)
	}
	for i, run := range before.Runs {
		for j, tr := range run.Trials {
			if got := after.Runs[i].Trials[j]; !got.Started.Equal(tr.Started) || got.Requests != tr.Requests {
				t.Errorf("%s trial %d changed on resume", run.Key(), j)
			}
		}
		for _, tr := range after.Runs[i].Trials {
			p := tr.Phases
			if p == nil || p.Measure < 0.45 || p.Start <= 0 || p.Ready <= 0 || p.Stop < 0 ||
				p.Total < p.DB+p.Start+p.Ready+p.Warmup+p.Measure+p.Stop-0.01 {
				t.Errorf("%s trial %d: phases %+v", run.Key(), tr.Index, p)
			}
		}
		if len(after.Runs[i].Trials) != 4 {
			t.Errorf("%s has %d trials, want 4", run.Key(), len(after.Runs[i].Trials))
		}
	}

	want, err := results.Read(filepath.Join(ref, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Ranking) != 2 || want.Verdict == nil {
		t.Fatalf("the uninterrupted run ranked %d servers, want 2", len(want.Ranking))
	}
	// The same verdict: the same winner, or one inside the other's tie
	// for first place. The resumed run's new trials are new measurements,
	// so a difference near the ranking's threshold may be a tie in one run
	// and separated in the other; a different winner outside a tie is not.
	if !agree(after, want) {
		t.Errorf("resumed verdict %q, uninterrupted %q\nresumed: %s\nuninterrupted: %s", places(after), places(want), after.Verdict.Headline, want.Verdict.Headline)
	}
}

// agree reports whether two rankings come to the same verdict: one's
// first place lies within the other's.
func agree(a, b *results.File) bool {
	first := func(f *results.File) map[string]bool {
		m := map[string]bool{}
		for _, r := range f.Ranking {
			if r.Position == 1 {
				m[r.Server] = true
			}
		}
		return m
	}
	fa, fb := first(a), first(b)
	within := func(x, y map[string]bool) bool {
		for s := range x {
			if !y[s] {
				return false
			}
		}
		return len(x) > 0
	}
	return within(fa, fb) || within(fb, fa)
}

// places is the ranking as "position server" pairs.
func places(f *results.File) string {
	var s []string
	for _, r := range f.Ranking {
		s = append(s, fmt.Sprintf("%d %s", r.Position, r.Server))
	}
	return strings.Join(s, ", ")
}
