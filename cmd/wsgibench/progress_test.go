package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wsgibench/wsgibench/internal/plan"
)

// openTerminal gives a pseudo-terminal: tty is what a program writes to,
// and everything the terminal received is read from the returned buffer
// (until tty is closed).
func openTerminal(t *testing.T) (tty *os.File, shown *syncBuffer, closed <-chan struct{}) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	shown = &syncBuffer{}
	done := make(chan struct{})
	go func() {
		io.Copy(shown, ptmx) // ends with EIO once the terminal's other side is closed
		close(done)
	}()
	return tty, shown, done
}

// waitFor polls until s shows want; the bar redraws on its own clock.
func waitFor(t *testing.T, s *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it showed:\n%q", want, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProgressBarOnTerminal(t *testing.T) {
	tty, shown, closed := openTerminal(t)
	log, p, stop := startProgress(tty)
	if p == nil {
		t.Fatal("no progress bar on a terminal")
	}
	// A stopped clock, so the estimate below is exact.
	b := p.(*bar)
	b.mu.Lock()
	b.now = func() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) }
	b.mu.Unlock()
	p.Start(plan.Work{Phases: []plan.PhaseWork{
		{Name: plan.PhaseTrials, Steps: 4, Each: 2 * time.Second},
		{Name: plan.PhaseProbes, Steps: 2, Each: 5 * time.Second},
	}})
	p.Phase(plan.PhaseTrials, 4)
	p.Step(plan.StepEvent{Phase: plan.PhaseTrials, Index: 0, Of: 4, Cell: "waitress 1x3 crud", Trial: 1, Trials: 2})
	fmt.Fprintln(log, "[1/4] waitress           1x3    crud      trial 1/2      5998 req/s")
	// Nothing finished yet: 4 trials at the plan's 2 s, then 2 probes at 5 s.
	waitFor(t, shown, "waitress 1x3 crud trial 1/2  ~18s left")
	waitFor(t, shown, "[1/4] waitress")
	p.Step(plan.StepEvent{Phase: plan.PhaseTrials, Index: 0, Of: 4, Cell: "waitress 1x3 crud", Trial: 1, Trials: 2, Done: true})
	waitFor(t, shown, "1/4")
	p.Phase(plan.PhaseProbes, 2)
	p.Step(plan.StepEvent{Phase: plan.PhaseProbes, Index: 0, Of: 2, Cell: "waitress 1x3 crud"})
	waitFor(t, shown, "probes")
	stop()
	tty.Close()
	<-closed
	if !strings.Contains(shown.String(), "\x1b[") {
		t.Errorf("no terminal control sequences: the bar was not drawn in place:\n%q", shown.String())
	}
}

func TestProgressPlainOffTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A pseudo-terminal of no size (some CI runners) gets plain lines too.
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	for _, out := range []io.Writer{w, f, &syncBuffer{}, tty} {
		log, p, stop := startProgress(out)
		if p != nil || log != out {
			t.Errorf("%T: a bar off a terminal", out)
		}
		stop()
	}
}

func TestTimeLeft(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	work := plan.Work{Phases: []plan.PhaseWork{
		{Name: plan.PhaseTrials, Steps: 4, Each: 2 * time.Second},
		{Name: plan.PhaseCapacity, Steps: 2, Each: 10 * time.Second},
	}}
	tests := []struct {
		name    string
		phase   string
		done    int
		doneAt  time.Duration // after the phase began
		elapsed time.Duration
		want    time.Duration
	}{
		{"before any trial", plan.PhaseTrials, 0, 0, 0, 4*2*time.Second + 20*time.Second},
		{"first trial under way", plan.PhaseTrials, 0, 0, 500 * time.Millisecond, 7500*time.Millisecond + 20*time.Second},
		// Two trials took 6 s: 3 s each for the last two.
		{"half the trials", plan.PhaseTrials, 2, 6 * time.Second, 6 * time.Second, 6*time.Second + 20*time.Second},
		{"third trial under way", plan.PhaseTrials, 2, 6 * time.Second, 7 * time.Second, 5*time.Second + 20*time.Second},
		{"slower than its pace", plan.PhaseTrials, 2, 6 * time.Second, 10 * time.Second, 3*time.Second + 20*time.Second},
		{"one capacity search of two", plan.PhaseCapacity, 1, 12 * time.Second, 12 * time.Second, 12 * time.Second},
		{"last phase done", plan.PhaseCapacity, 2, 20 * time.Second, 20 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := 4
			if tt.phase == plan.PhaseCapacity {
				steps = 2
			}
			b := &bar{now: func() time.Time { return t0.Add(tt.elapsed) }, work: work,
				phase: tt.phase, steps: steps, done: tt.done, began: t0, doneAt: t0.Add(tt.doneAt)}
			got, ok := b.left()
			if !ok || got != tt.want {
				t.Errorf("left = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

// TestRunProgress: wsgibench run draws the bar when its stderr is a
// terminal, and writes today's plain lines when it is not.
func TestRunProgress(t *testing.T) {
	needServers(t)
	args := []string{"run", "--servers", "waitress", "--workers", "1", "--threads", "2", "--trials", "2",
		"--duration", "300ms", "--warmup", "0s", "--connections", "4", "--no-probe", "--no-trouble", "--no-capacity", "--no-ceiling", "--no-check"}

	tty, shown, closed := openTerminal(t)
	cmd := exec.Command(binary, append(args, "--out", t.TempDir())...)
	cmd.Stderr = tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.Stdin = tty
	if err := cmd.Run(); err != nil {
		t.Fatalf("run on a terminal: %v\n%s", err, shown.String())
	}
	tty.Close()
	<-closed
	out := shown.String()
	for _, want := range []string{"trials", "waitress 1x2 crud trial", "left", "\x1b[", "[2/2] waitress"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal did not show %q:\n%q", want, out)
		}
	}

	r := runBinary(t, time.Minute, append(args, "--out", t.TempDir())...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "\x1b") || strings.Contains(r.stderr, "left") {
		t.Errorf("a bar in plain output:\n%q", r.stderr)
	}
	if !strings.Contains(r.stderr, "[1/2] waitress ") || !strings.Contains(r.stderr, "[2/2] waitress ") {
		t.Errorf("plain lines missing:\n%s", r.stderr)
	}
}
