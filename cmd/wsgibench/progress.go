package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"

	"github.com/wsgibench/wsgibench/internal/plan"
)

// startProgress picks how a run shows where it is. On a terminal, a bar
// (mpb) with the phase, the cell and trial, and an estimate of the time
// left, and the plan's log lines printed above it; anywhere else (a CI
// log, a pipe, a file) the plain lines alone, as before. stop ends the bar
// and must be called before anything else is printed.
func startProgress(stderr io.Writer) (log io.Writer, p plan.Progress, stop func()) {
	if !isTerminal(stderr) {
		return stderr, nil, func() {}
	}
	b := newBar(stderr)
	return b.p, b, b.stop
}

// isTerminal says whether w is a terminal (a TTY or pseudo-terminal) a
// bar can be drawn on: one with a size (a pseudo-terminal nobody sized,
// as some CI runners give, has none, and the bar would not show).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	return err == nil && ws.Col > 0 && ws.Row > 0
}

// bar draws one mpb bar per phase and estimates the time left.
type bar struct {
	p   *mpb.Progress
	now func() time.Time

	mu      sync.Mutex // guards the fields below: events write them, decorators read them
	work    plan.Work
	cur     *mpb.Bar
	phase   string
	steps   int
	done    int
	began   time.Time // of the phase
	doneAt  time.Time // when the phase's last step finished
	cell    string
	trial   int
	trials  int
	started time.Time // of the run
}

func newBar(out io.Writer) *bar {
	return &bar{
		p:   mpb.New(mpb.WithOutput(out), mpb.WithWidth(100), mpb.WithRefreshRate(200*time.Millisecond)),
		now: time.Now,
	}
}

func (b *bar) Start(w plan.Work) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.work, b.started = w, b.now()
}

func (b *bar) Phase(name string, steps int) {
	// The new bar is made outside the lock: mpb may be drawing, and its
	// decorators take the lock.
	nb := b.p.AddBar(int64(max(steps, 1)),
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(
			decor.Name(name, decor.WC{W: 9, C: decor.DindentRight}),
			decor.CountersNoUnit("%d/%d", decor.WC{W: 8}),
		),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return b.status() })),
	)
	b.mu.Lock()
	old := b.cur
	b.cur = nb
	b.phase, b.steps, b.done, b.began = name, steps, 0, b.now()
	b.doneAt = b.began
	b.cell, b.trial, b.trials = "", 0, 0
	b.mu.Unlock()
	if old != nil {
		old.SetTotal(-1, true)
	}
}

func (b *bar) Step(e plan.StepEvent) {
	b.mu.Lock()
	cur := b.cur
	if e.Phase != b.phase || cur == nil {
		b.mu.Unlock()
		return
	}
	b.cell, b.trial, b.trials = e.Cell, e.Trial, e.Trials
	done := e.Index // a step skipped since the last counts as done
	if e.Done {
		done = e.Index + 1
	}
	if done > b.done {
		b.done, b.doneAt = done, b.now()
	}
	b.mu.Unlock()
	cur.SetCurrent(int64(done))
}

// status is the text after the bar: where the run is and the time left.
func (b *bar) status() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.cell
	if b.trial > 0 {
		s += fmt.Sprintf(" trial %d/%d", b.trial, b.trials)
	}
	if left, ok := b.left(); ok {
		s += "  ~" + shortDuration(left) + " left"
	}
	return s
}

// left estimates the time the run still needs: the current phase's steps
// at the pace its finished steps took (the plan's guess before one has),
// then the later phases at the plan's guesses.
func (b *bar) left() (time.Duration, bool) {
	i := -1
	for j, p := range b.work.Phases {
		if p.Name == b.phase {
			i = j
		}
	}
	if i < 0 {
		return 0, false
	}
	each := b.work.Phases[i].Each
	if b.done > 0 {
		each = b.doneAt.Sub(b.began) / time.Duration(b.done)
	}
	left := time.Duration(max(b.steps-b.done, 0)) * each
	if b.done < b.steps {
		// The step under way has run for part of its time already.
		left -= min(b.now().Sub(b.doneAt), each)
	}
	for _, p := range b.work.Phases[i+1:] {
		left += time.Duration(p.Steps) * p.Each
	}
	return max(left, 0), true
}

func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// stop completes the bar and waits until mpb has drawn its last frame and
// flushed the lines written above it.
func (b *bar) stop() {
	b.mu.Lock()
	cur := b.cur
	b.mu.Unlock()
	if cur != nil {
		cur.SetTotal(-1, true)
	}
	b.p.Wait()
}
