package proc

import (
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// TagEnv is the environment variable that marks every process of a Group.
const TagEnv = "WSGIBENCH_TAG"

// DefaultGrace is the SIGTERM→SIGKILL grace period when Spec.Grace is zero.
const DefaultGrace = 5 * time.Second

// outputBytes bounds the memory kept for a server's output.
const outputBytes = 64 << 10

// Spec describes one server process tree to start.
type Spec struct {
	Name string   // for messages: "gunicorn-gthread"; default: base name of Argv[0]
	Argv []string // Argv[0] is looked up in the PATH of Env (or ours) if it has no slash
	Env  []string // full environment for the server; nil means ours. The tag is appended.
	Dir  string   // working directory; "" means ours
	CPUs []int    // pin the whole tree to these CPUs; nil = no pinning
	Tag  string   // value of WSGIBENCH_TAG; "" generates a unique one

	// Grace is how long the server gets between the stop signal and SIGKILL.
	// Zero means DefaultGrace.
	Grace time.Duration

	// StopSignal asks the server to shut down; zero means SIGTERM. (uWSGI 2.0
	// reloads on SIGTERM unless --die-on-term; SIGINT works there too.)
	StopSignal syscall.Signal

	// LogFile, if set, receives a copy of the server's combined output.
	LogFile string
}

// Group is a running server tree: the server's main process, everything it
// forks, and the reaper that owns them. All methods are safe for concurrent use.
type Group struct {
	name  string
	tag   string
	grace time.Duration

	cmd  *exec.Cmd // the reaper
	rpid int       // reaper pid == process group id
	pid  int       // server main pid; written before started is closed

	out *ring

	started chan struct{} // closed once the server's pid is known
	done    chan struct{} // closed once the reaper exited and was swept

	// Written by the wait goroutine before done is closed; read after.
	startErr error
	exitErr  error
	finalCPU time.Duration

	stopOnce sync.Once
	stopErr  error // result of the first Stop, returned by all
}

// Name is Spec.Name (or the default derived from Argv).
func (g *Group) Name() string { return g.name }

// Tag is the value of WSGIBENCH_TAG carried by every process of the group.
func (g *Group) Tag() string { return g.tag }

// Pid is the server's main process (not the reaper).
func (g *Group) Pid() int { return g.pid }

// Done is closed when the server has exited, its leftovers are killed and
// its output is drained.
func (g *Group) Done() <-chan struct{} { return g.done }

// ExitErr is the server's exit status after Done: nil for exit status 0, an
// *ExitError otherwise (including after Stop, typically "signal: terminated"),
// or another error if the reaper itself was killed.
func (g *Group) ExitErr() error {
	select {
	case <-g.done:
		return g.exitErr
	default:
		return nil
	}
}

// Output returns the last n lines (all buffered lines if n <= 0) of the
// server's combined stdout and stderr. Only the last 64 KiB are kept.
func (g *Group) Output(n int) []string { return g.out.lastLines(n) }

func (g *Group) isDone() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// ExitError reports how the server's main process ended.
type ExitError struct {
	Code   int            // exit status when Signal == 0
	Signal syscall.Signal // non-zero if killed by a signal
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return "signal: " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Usage is a snapshot of the resources of a whole server tree.
type Usage struct {
	Procs    int   // live processes in the tree (reaper excluded)
	RSSBytes int64 // sum of resident sets; shared pages count once per process
	PSSBytes int64 // sum of proportional sets; shared pages split between sharers

	// CPU is user+system time of the live tree plus everything it has reaped
	// since the start (exited workers included). Only differences between two
	// snapshots are meaningful for a trial.
	CPU time.Duration

	// perProc is each member's own CPU time (utime+stime, zombies
	// included), for the Sampler's per-process shares.
	perProc []procCPU
}

// procCPU is one member's own CPU time at a snapshot.
type procCPU struct {
	pid int
	cpu time.Duration
}

// ProcCPU is one process's own CPU time over a sampling period: how the
// tree's work was spread over its processes (a master that only
// supervises, workers that serve, a router that forwards).
type ProcCPU struct {
	Pid  int
	Main bool // the server's main process (a master, an arbiter, or the only process)
	// Cmd is its command line when first seen, arguments joined by spaces
	// and cut at 256 bytes: servers rename their processes there ("uWSGI
	// worker 1", "(wsgi:wsgibench)"), which tells workers from helpers.
	Cmd string
	CPU time.Duration
}

// Stats summarize a sampling period.
type Stats struct {
	PeakRSSBytes int64
	PeakPSSBytes int64
	CPU          time.Duration // CPU time of the whole tree between start and stop
	MaxProcs     int
	Samples      int
	// PerProcess is every process seen, busiest first. A process that
	// exited keeps the time of its last sample; one that appeared after
	// the first sample counts from zero.
	PerProcess []ProcCPU
}

// Sampler polls a Group's Usage until stopped.
type Sampler struct {
	g    *Group
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex // guards base, last, haveCPU, stats, procs
	base    time.Duration
	last    time.Duration
	haveCPU bool
	stats   Stats
	procs   map[int]*procWindow

	stopOnce sync.Once
}

// StartSampling takes a first snapshot now (the CPU baseline) and then one
// every interval (100 ms if interval <= 0) until Stop.
func (g *Group) StartSampling(interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	s := &Sampler{g: g, quit: make(chan struct{}), done: make(chan struct{}), procs: map[int]*procWindow{}}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *Sampler) sample() {
	u, err := s.g.Usage()
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	baseline := !s.haveCPU
	if baseline {
		s.base, s.haveCPU = u.CPU, true
	}
	s.last = u.CPU
	for _, p := range u.perProc {
		w := s.procs[p.pid]
		if w == nil {
			w = &procWindow{}
			if baseline {
				w.first = p.cpu
			}
			s.procs[p.pid] = w
		}
		if w.cmd == "" {
			// The command line once, when first seen: a few hundred bytes
			// per new process, not per sample. Read again while empty: a
			// process inside execve (a server Start has just returned)
			// reads as having no arguments until the new image is set up.
			w.cmd = cmdline(p.pid)
		}
		w.last = p.cpu
	}
	st := &s.stats
	st.Samples++
	st.PeakRSSBytes = max(st.PeakRSSBytes, u.RSSBytes)
	st.PeakPSSBytes = max(st.PeakPSSBytes, u.PSSBytes)
	st.MaxProcs = max(st.MaxProcs, u.Procs)
}

// Stop takes a last snapshot and returns the statistics. It is idempotent.
func (s *Sampler) Stop() Stats {
	s.stopOnce.Do(func() {
		close(s.quit)
		<-s.done
		s.sample()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.CPU = max(0, s.last-s.base)
	st.PerProcess = make([]ProcCPU, 0, len(s.procs))
	for pid, w := range s.procs {
		st.PerProcess = append(st.PerProcess, ProcCPU{Pid: pid, Main: pid == s.g.pid, Cmd: w.cmd, CPU: max(0, w.last-w.first)})
	}
	slices.SortFunc(st.PerProcess, func(a, b ProcCPU) int {
		return cmp.Or(cmp.Compare(b.CPU, a.CPU), cmp.Compare(a.Pid, b.Pid))
	})
	return st
}

// procWindow is one process's CPU time at its first and latest sample.
type procWindow struct {
	first, last time.Duration
	cmd         string
}

// mainCalled records that Main ran, so Start knows re-executing is safe.
var mainCalled atomic.Bool

// Main must be the first statement of main() and of TestMain in any binary
// that calls Start. When the binary was re-executed as a reaper it runs the
// reaper and exits; otherwise it returns at once.
func Main() {
	mainCalled.Store(true)
	runReaperIfRequested()
}

// Start launches s under a reaper and returns once the server's main
// process exists. Cancelling ctx stops the group (as Stop does).
func Start(ctx context.Context, s Spec) (*Group, error) {
	if len(s.Argv) == 0 {
		return nil, fmt.Errorf("proc.Start: empty Argv")
	}
	if !mainCalled.Load() {
		return nil, fmt.Errorf("proc.Start: proc.Main was not called at the top of main (or TestMain)")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", specName(s), err)
	}
	return start(ctx, s)
}
