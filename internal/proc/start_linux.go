package proc

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reaperPdeathsig is what the reaper receives when our forking thread dies.
// Tests set it to 0 to exercise the getppid poll alone.
var reaperPdeathsig = syscall.SIGTERM

// forker runs every fork of a reaper on one OS thread that never exits.
// PR_SET_PDEATHSIG is tied to the forking thread, not the process: forking
// from an arbitrary goroutine's thread would let a thread exit (a goroutine
// ending while locked to its thread) kill a healthy server.
var forker struct {
	once sync.Once
	reqs chan func()
}

func onForkThread(f func()) {
	forker.once.Do(func() {
		forker.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as we do
			for f := range forker.reqs {
				f()
			}
		}()
	})
	done := make(chan struct{})
	forker.reqs <- func() { defer close(done); f() }
	<-done
}

var tagSeq atomic.Int64

// liveTags holds the tags of this process's groups that are not Done yet.
// A tag must identify one group: the final sweep kills everything carrying it.
var liveTags struct {
	sync.Mutex
	m map[string]bool
}

// claimTag fails if tag belongs to a live group or to running processes
// (for instance left over by a wsgibench that crashed).
func claimTag(tag string) error {
	liveTags.Lock()
	defer liveTags.Unlock()
	if liveTags.m[tag] {
		return fmt.Errorf("tag %q is in use by another group", tag)
	}
	if left := Tagged(tag); len(left) > 0 {
		return fmt.Errorf("processes tagged %s=%s are already running: %s", TagEnv, tag, describe(left))
	}
	if liveTags.m == nil {
		liveTags.m = make(map[string]bool)
	}
	liveTags.m[tag] = true
	return nil
}

func releaseTag(tag string) {
	liveTags.Lock()
	defer liveTags.Unlock()
	delete(liveTags.m, tag)
}

func newTag() string {
	return fmt.Sprintf("%d-%d-%08x", os.Getpid(), tagSeq.Add(1), rand.Uint32())
}

func start(ctx context.Context, s Spec) (*Group, error) {
	name := specName(s)
	fail := func(err error) (*Group, error) { return nil, fmt.Errorf("starting %s: %w", name, err) }

	env := s.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(s.Argv[0], s.Dir, env)
	if err != nil {
		return fail(err)
	}
	if s.Dir != "" {
		if fi, err := os.Stat(s.Dir); err != nil {
			return fail(err)
		} else if !fi.IsDir() {
			return fail(fmt.Errorf("%s is not a directory", s.Dir))
		}
	}
	if err := checkCPUs(s.CPUs); err != nil {
		return fail(err)
	}
	tag := s.Tag
	if tag == "" {
		tag = newTag()
	}
	if err := claimTag(tag); err != nil {
		return fail(err)
	}
	claimed := true
	defer func() {
		if claimed {
			releaseTag(tag)
		}
	}()
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, TagEnv+"=") })
	env = append(env, TagEnv+"="+tag)
	cfg := reaperConfig{
		grace:   s.Grace,
		ppid:    os.Getpid(),
		cpus:    s.CPUs,
		stopSig: s.StopSignal,
		argv:    append([]string{path}, s.Argv[1:]...),
	}
	if cfg.grace <= 0 {
		cfg.grace = DefaultGrace
	}
	if cfg.stopSig == 0 {
		cfg.stopSig = syscall.SIGTERM
	}

	var logFile *os.File
	if s.LogFile != "" {
		if logFile, err = os.Create(s.LogFile); err != nil {
			return fail(err)
		}
	}
	closeLog := func() {
		if logFile != nil {
			logFile.Close()
		}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeLog()
		return fail(err)
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		closeLog()
		return fail(err)
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       append([]string{"wsgibench-reaper", reaperArg}, cfg.args()...),
		Env:        env,
		Dir:        s.Dir,
		Stdout:     outW,
		Stderr:     outW,
		ExtraFiles: []*os.File{ctlW},
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: reaperPdeathsig,
		},
	}
	onForkThread(func() { err = cmd.Start() })
	outW.Close()
	ctlW.Close()
	if err != nil {
		outR.Close()
		ctlR.Close()
		closeLog()
		return fail(fmt.Errorf("starting reaper: %w", err))
	}

	g := &Group{
		name:    name,
		tag:     tag,
		grace:   cfg.grace,
		cmd:     cmd,
		rpid:    cmd.Process.Pid,
		out:     newRing(outputBytes),
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	outDone := make(chan struct{})
	go g.copyOutput(outR, logFile, outDone)
	claimed = false // released by wait once the group is done
	go g.wait(ctlR, outR, outDone)

	select {
	case <-g.started:
	case <-g.done:
		select {
		case <-g.started: // a server that already ran to completion
			return g, nil
		default:
		}
		if g.startErr != nil {
			return fail(g.startErr)
		}
		return fail(fmt.Errorf("reaper exited early (%v): %s", g.exitErr, informativeLine(g.Output(0))))
	case <-ctx.Done():
		g.Stop()
		return fail(ctx.Err())
	}
	go func() {
		select {
		case <-ctx.Done():
			g.Stop()
		case <-g.done:
		}
	}()
	return g, nil
}

// lookPath resolves file like a shell would with env's PATH.
func lookPath(file, dir string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		p, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if err := isExecutable(p); err != nil {
			return "", &exec.Error{Name: file, Err: err}
		}
		return p, nil
	}
	pathEnv, ok := "", false
	for _, kv := range env {
		if v, found := strings.CutPrefix(kv, "PATH="); found {
			pathEnv, ok = v, true
		}
	}
	if !ok {
		pathEnv = os.Getenv("PATH")
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if isExecutable(p) == nil {
			return filepath.Abs(p)
		}
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}

// startAffinity is this process's CPU mask when it started: what taskset or
// the cgroup allowed us. It is read at init because the caller may narrow its
// own mask afterwards (wsgibench pins its load generator to other CPUs than
// the server's), and the server's CPUs must be checked against what the
// machine offers us, not against the generator's share.
var startAffinity, startAffinityErr = func() (unix.CPUSet, error) {
	var set unix.CPUSet
	err := unix.SchedGetaffinity(0, &set)
	return set, err
}()

// checkCPUs rejects CPUs we may not run on; sched_setaffinity would silently
// drop them as long as one requested CPU is allowed.
func checkCPUs(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	if startAffinityErr != nil {
		return fmt.Errorf("reading CPU affinity: %w", startAffinityErr)
	}
	allowed := startAffinity
	for _, c := range cpus {
		if c < 0 || c >= len(allowed)*64 || !allowed.IsSet(c) {
			return fmt.Errorf("CPU %d is not available (allowed: %s)", c, cpuList(&allowed))
		}
	}
	return nil
}

func cpuList(set *unix.CPUSet) string {
	var s []string
	for c := range len(set) * 64 {
		if set.IsSet(c) {
			s = append(s, strconv.Itoa(c))
		}
	}
	return strings.Join(s, ",")
}

func (g *Group) copyOutput(r, log *os.File, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	if log != nil {
		defer log.Close()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			g.out.Write(buf[:n])
			if log != nil {
				log.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// wait follows the control pipe until the reaper exits, sweeps, and closes done.
func (g *Group) wait(ctl, out *os.File, outDone <-chan struct{}) {
	var (
		status    syscall.WaitStatus
		gotStatus bool
		childCPU  time.Duration
	)
	sc := bufio.NewScanner(ctl)
	for sc.Scan() {
		word, rest, _ := strings.Cut(sc.Text(), " ")
		switch word {
		case "pid":
			if pid, err := strconv.Atoi(rest); err == nil && g.pid == 0 {
				g.pid = pid
				close(g.started)
			}
		case "err":
			g.startErr = errors.New(rest)
		case "exit":
			f := strings.Fields(rest)
			if len(f) == 3 {
				ws, err1 := strconv.ParseUint(f[0], 10, 32)
				ut, err2 := strconv.ParseInt(f[1], 10, 64)
				st, err3 := strconv.ParseInt(f[2], 10, 64)
				if err1 == nil && err2 == nil && err3 == nil {
					status, gotStatus = syscall.WaitStatus(ws), true
					childCPU = time.Duration(ut+st) * time.Microsecond
				}
			}
		}
	}
	ctl.Close()
	werr := g.cmd.Wait()

	// Final sweep: anything left in the group or carrying the tag. Safe after
	// the reaper is reaped: a process group id is not reused while any
	// member lives.
	unix.Kill(-g.rpid, unix.SIGKILL)
	KillTagged(g.tag)

	// A process that escaped both (e.g. after the reaper was SIGKILLed) may
	// still hold the output pipe; don't wait for it forever.
	out.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	<-outDone

	switch {
	case gotStatus:
		g.finalCPU = childCPU
		switch {
		case status.Exited() && status.ExitStatus() == 0:
		case status.Signaled():
			g.exitErr = &ExitError{Signal: status.Signal()}
		default:
			g.exitErr = &ExitError{Code: status.ExitStatus()}
		}
	case g.startErr != nil:
		g.exitErr = g.startErr
	default:
		if ps := g.cmd.ProcessState; ps != nil {
			g.finalCPU = ps.UserTime() + ps.SystemTime()
		}
		g.exitErr = fmt.Errorf("reaper died: %v", werr)
	}
	releaseTag(g.tag)
	close(g.done)
}

// Stop asks the server to shut down (Spec.StopSignal), waits Spec.Grace,
// SIGKILLs what is left and returns when no process of the tree, group or
// tag remains. It is idempotent and blocking; every call returns the first
// call's result. The error only says that something survived.
func (g *Group) Stop() error {
	g.stopOnce.Do(func() { g.stopErr = g.stop(true) })
	return g.stopErr
}

// Kill is Stop without the grace period: SIGKILL to the whole tree at once.
// It is for a server with nothing to finish, such as one that never became
// ready, whose graceful shutdown (gunicorn waits out its graceful timeout
// for a worker stuck in the app) would only cost time. It shares Stop's
// once: whichever is called first decides.
func (g *Group) Kill() error {
	g.stopOnce.Do(func() { g.stopErr = g.stop(false) })
	return g.stopErr
}

func (g *Group) stop(graceful bool) error {
	if !g.isDone() {
		wait := 10 * time.Second
		if graceful {
			g.cmd.Process.Signal(syscall.SIGTERM)
			// The reaper needs grace plus up to ~3 s of killing and reaping.
			wait += g.grace
		} else {
			g.cmd.Process.Signal(killNow)
		}
		t := time.NewTimer(wait)
		select {
		case <-g.done:
			t.Stop()
		case <-t.C:
			g.kill()
			select {
			case <-g.done:
			case <-time.After(5 * time.Second):
				return fmt.Errorf("stopping %s: reaper (pid %d) did not exit", g.name, g.rpid)
			}
		}
	}
	// done implies the sweep ran; confirm nothing survived it.
	var left []int
	for deadline := time.Now().Add(2 * time.Second); ; {
		left = g.survivors()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		for _, pid := range left {
			unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("stopping %s: %d process(es) survived SIGKILL: %s", g.name, len(left), describe(left))
}

// kill sends SIGKILL to the reaper, its process group and every tagged
// process; the reaper's exit is then seen on g.done.
func (g *Group) kill() {
	g.cmd.Process.Kill()
	unix.Kill(-g.rpid, unix.SIGKILL)
	KillTagged(g.tag)
}

// survivors lists live processes of the group's tag or process group.
func (g *Group) survivors() []int {
	left := Tagged(g.tag)
	if procs, err := scanProcs(); err == nil {
		for _, pid := range members(procs, 0, g.rpid, 0) {
			if !slices.Contains(left, pid) {
				left = append(left, pid)
			}
		}
	}
	slices.Sort(left)
	return left
}

// Pids lists the live processes of the tree: the server and all its
// descendants, including daemonized ones, but not the reaper.
func (g *Group) Pids() []int {
	if g.isDone() {
		return nil
	}
	procs, err := scanProcs()
	if err != nil {
		return nil
	}
	return members(procs, g.rpid, g.rpid, g.rpid)
}

// Workers lists the tree's live processes other than the server's main
// one, busiest (most CPU used) first: the processes serving requests, such
// as pre-forked workers, Apache's children, uWSGI's router. It is empty for
// a server that runs in one process.
func (g *Group) Workers() []int {
	if g.isDone() {
		return nil
	}
	procs, err := scanProcs()
	if err != nil {
		return nil
	}
	var out []int
	for _, pid := range members(procs, g.rpid, g.rpid, g.rpid) {
		if pid != g.pid {
			out = append(out, pid)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(procs[b].cpuTicks(), procs[a].cpuTicks()) })
	return out
}

// Usage takes a snapshot of the tree. After Done it reports no processes and
// the CPU time of everything the reaper reaped.
func (g *Group) Usage() (Usage, error) {
	var u Usage
	for range 5 {
		if g.isDone() {
			return Usage{CPU: g.finalCPU}, nil
		}
		var consistent bool
		var err error
		u, consistent, err = g.usage()
		if err != nil || consistent {
			return u, err
		}
	}
	return u, nil // best effort under heavy churn
}

// usage reads the tree once. It is inconsistent if a member was reaped
// while reading: that member's CPU time moved into its parent's cutime
// between two reads and may be missing or counted twice.
func (g *Group) usage() (Usage, bool, error) {
	procs, err := scanProcs()
	if err != nil {
		return Usage{}, false, fmt.Errorf("reading /proc: %w", err)
	}
	reaper, ok := procs[g.rpid]
	if !ok {
		select {
		case <-g.done:
			return Usage{CPU: g.finalCPU}, true, nil
		case <-time.After(2 * time.Second):
			return Usage{}, false, fmt.Errorf("%s: reaper (pid %d) vanished", g.name, g.rpid)
		}
	}
	tree := descendants(procs, g.rpid)
	var u Usage
	ticks := reaper.cutime + reaper.cstime
	page := int64(os.Getpagesize())
	for _, pid := range tree {
		p := procs[pid]
		ticks += p.cpuTicks() // zombies too: their time is in no cutime yet
		u.perProc = append(u.perProc, procCPU{pid, time.Duration(p.utime+p.stime) * clockTick})
		if p.zombie() {
			continue
		}
		u.Procs++
		rss := p.rssPages * page
		u.RSSBytes += rss
		if pss, ok := pssBytes(pid); ok {
			u.PSSBytes += pss
		} else {
			u.PSSBytes += rss
		}
	}
	u.CPU = time.Duration(ticks) * clockTick
	// Nobody was reaped meanwhile if every member still exists (a zombie is
	// fine) and no cutime in the tree moved.
	for _, pid := range append(tree, g.rpid) {
		p2, err := readStat(pid)
		if p := procs[pid]; err != nil || p2.cutime != p.cutime || p2.cstime != p.cstime {
			return u, false, nil
		}
	}
	return u, true, nil
}
