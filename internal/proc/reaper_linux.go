package proc

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reaperArg is os.Args[1] of a re-executed reaper.
const reaperArg = "__wsgibench-reaper"

// ctlFD is the reaper's end of the control pipe (ExtraFiles[0]). The reaper
// reports "pid N" once the server runs (or "err MSG"), and finally
// "exit WAITSTATUS CHILD_UTIME_US CHILD_STIME_US".
const ctlFD = 3

// ppidPoll is how often the reaper checks that its parent is still alive.
const ppidPoll = 200 * time.Millisecond

func runReaperIfRequested() {
	if len(os.Args) < 2 || os.Args[1] != reaperArg {
		return
	}
	os.Exit(reaperMain(os.Args[2:]))
}

type reaperConfig struct {
	grace   time.Duration
	ppid    int
	cpus    []int
	stopSig syscall.Signal
	argv    []string
}

func (c reaperConfig) args() []string {
	a := []string{
		"-grace=" + c.grace.String(),
		"-ppid=" + strconv.Itoa(c.ppid),
		"-stop=" + strconv.Itoa(int(c.stopSig)),
	}
	if len(c.cpus) > 0 {
		s := make([]string, len(c.cpus))
		for i, cpu := range c.cpus {
			s[i] = strconv.Itoa(cpu)
		}
		a = append(a, "-cpus="+strings.Join(s, ","))
	}
	a = append(a, "--")
	return append(a, c.argv...)
}

func parseReaperArgs(args []string) (reaperConfig, error) {
	var c reaperConfig
	var cpus string
	var stop int
	fs := flag.NewFlagSet("wsgibench-reaper", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&c.grace, "grace", DefaultGrace, "")
	fs.IntVar(&c.ppid, "ppid", 0, "")
	fs.IntVar(&stop, "stop", int(syscall.SIGTERM), "")
	fs.StringVar(&cpus, "cpus", "", "")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("reaper arguments: %w", err)
	}
	c.stopSig, c.argv = syscall.Signal(stop), fs.Args()
	if len(c.argv) == 0 {
		return c, errors.New("reaper arguments: no command")
	}
	if cpus != "" {
		for f := range strings.SplitSeq(cpus, ",") {
			cpu, err := strconv.Atoi(f)
			if err != nil {
				return c, fmt.Errorf("reaper arguments: cpus: %w", err)
			}
			c.cpus = append(c.cpus, cpu)
		}
	}
	return c, nil
}

// reaper owns the server's process tree; see the package doc.
type reaper struct {
	self    int
	tag     string
	grace   time.Duration
	stopSig syscall.Signal
	ppid    int
	sigs    chan os.Signal

	pid        int // server main process
	serverDone bool
	status     syscall.WaitStatus
}

func reaperMain(args []string) int {
	// The server is forked from this thread: keep it for the whole life of
	// the reaper so the server's Pdeathsig only fires when the reaper dies.
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)

	ctl := os.NewFile(ctlFD, "ctl")
	if ctl == nil {
		fmt.Fprintln(os.Stderr, "wsgibench-reaper: no control pipe; run through proc.Start")
		return 125
	}
	unix.CloseOnExec(ctlFD) // the server must not inherit it
	fail := func(err error) int {
		fmt.Fprintf(ctl, "err %s\n", oneLine(err.Error()))
		return 127
	}

	cfg, err := parseReaperArgs(args)
	if err != nil {
		return fail(err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("PR_SET_CHILD_SUBREAPER: %w", err))
	}
	r := &reaper{
		self:    os.Getpid(),
		tag:     os.Getenv(TagEnv),
		grace:   cfg.grace,
		stopSig: cfg.stopSig,
		ppid:    cfg.ppid,
		sigs:    make(chan os.Signal, 32),
	}
	// SIGPIPE is caught (not ignored, which the server would inherit) so that
	// writing to a dead parent's pipe cannot kill the reaper.
	signal.Notify(r.sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGCHLD, unix.SIGPIPE, killNow)
	if unix.Getppid() != r.ppid {
		return fail(errors.New("parent exited before the server started"))
	}
	if len(cfg.cpus) > 0 {
		var set unix.CPUSet
		for _, cpu := range cfg.cpus {
			set.Set(cpu)
		}
		if err := pinAllThreads(&set); err != nil {
			return fail(fmt.Errorf("pinning to CPUs %v: %w", cfg.cpus, err))
		}
	}
	pid, err := syscall.ForkExec(cfg.argv[0], cfg.argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		// If the reaper is SIGKILLed, at least the server's main process goes.
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fail(fmt.Errorf("fork/exec %s: %w", cfg.argv[0], err))
	}
	r.pid = pid
	fmt.Fprintf(ctl, "pid %d\n", pid)

	r.run()

	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_CHILDREN, &ru)
	fmt.Fprintf(ctl, "exit %d %d %d\n", uint32(r.status),
		time.Duration(ru.Utime.Nano()).Microseconds(), time.Duration(ru.Stime.Nano()).Microseconds())
	ctl.Close()
	switch {
	case r.status.Exited():
		return r.status.ExitStatus()
	case r.status.Signaled():
		return 128 + int(r.status.Signal())
	}
	return 1
}

// pinAllThreads sets the affinity of every thread of the reaper, repeating
// until no thread (including ones the runtime started meanwhile) is left out.
// The server inherits the mask of the thread that forks it.
func pinAllThreads(set *unix.CPUSet) error {
	for range 10 {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		changed := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			var cur unix.CPUSet
			if unix.SchedGetaffinity(tid, &cur) == nil && cur == *set {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue
				}
				return err
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return nil
}

// killNow asks the reaper to SIGKILL the tree without a grace period
// (Group.Kill); the server's exit status is still collected and reported.
const killNow = unix.SIGUSR1

// run supervises until the server has exited and its tree is gone.
func (r *reaper) run() {
	tick := time.NewTicker(ppidPoll)
	defer tick.Stop()
	for !r.serverDone {
		select {
		case s := <-r.sigs:
			switch s {
			case unix.SIGCHLD:
				r.reap()
			case unix.SIGPIPE:
			case killNow:
				r.killAll("killed at once as asked")
				return
			default: // SIGTERM, SIGINT, SIGHUP: stop requested or parent died
				r.shutdown()
				return
			}
		case <-tick.C:
			r.reap()
			if unix.Getppid() != r.ppid {
				r.shutdown()
				return
			}
		}
	}
	// The server exited by itself: nothing it left behind may survive it.
	r.drain(time.Now().Add(r.grace))
	r.killAll(fmt.Sprintf("still running after %v grace", r.grace))
}

func (r *reaper) shutdown() {
	deadline := time.Now().Add(r.grace)
	if !r.serverDone {
		unix.Kill(r.pid, r.stopSig)
	}
	r.drain(deadline)
	r.killAll(fmt.Sprintf("still running after %v grace", r.grace))
}

// reap collects every exited child without blocking.
func (r *reaper) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if pid == r.pid {
			r.status, r.serverDone = ws, true
		}
	}
}

// members lists the live processes the reaper is responsible for.
func (r *reaper) members() []int {
	procs, err := scanProcs()
	if err != nil {
		return nil
	}
	m := members(procs, r.self, r.self, r.self)
	for _, pid := range Tagged(r.tag) {
		if p, ok := procs[pid]; ok && !p.zombie() && !slices.Contains(m, pid) && pid != r.self {
			m = append(m, pid)
		}
	}
	return m
}

// drain waits until the tree is empty or deadline. Once the server's main
// process is gone, leftovers get one SIGTERM (workers of a master that died).
func (r *reaper) drain(deadline time.Time) {
	termed := false
	for {
		r.reap()
		m := r.members()
		if len(m) == 0 {
			return
		}
		if r.serverDone && !termed {
			for _, pid := range m {
				unix.Kill(pid, unix.SIGTERM)
			}
			termed = true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		t := time.NewTimer(min(left, 50*time.Millisecond))
		select {
		case <-r.sigs: // SIGCHLD, or a repeated stop request: rescan
		case <-t.C:
		}
		t.Stop()
	}
}

// killAll SIGKILLs the tree until it is empty, then reaps what was
// re-parented to the reaper.
func (r *reaper) killAll(why string) {
	warned := false
	for range 100 {
		r.reap()
		m := r.members()
		if len(m) == 0 {
			break
		}
		if !warned {
			// Goes to the server's output (and is lost if the parent died).
			fmt.Fprintf(os.Stderr, "wsgibench-reaper: %d process(es) %s; sending SIGKILL: %s\n",
				len(m), why, describe(m))
			warned = true
		}
		for _, pid := range m {
			unix.Kill(pid, unix.SIGKILL)
		}
		// A SIGCHLD says a child died: rescan then rather than after a
		// fixed sleep (a server killed after its trial is gone in a few
		// milliseconds; the sleep was most of the stop).
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-r.sigs:
		case <-t.C:
		}
		t.Stop()
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		r.reap()
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.ECHILD) {
			return
		}
		if pid == r.pid {
			r.status, r.serverDone = ws, true
		}
		if pid <= 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}
