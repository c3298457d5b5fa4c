package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// clockTick is USER_HZ, the unit of the times in /proc/PID/stat. It is part
// of the kernel ABI and 100 on every architecture Go supports on Linux
// (getconf CLK_TCK); reading it would need cgo.
const clockTick = time.Second / 100

// procStat is the part of /proc/PID/stat we use.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
	comm            string
	// CPU times in clock ticks; cutime/cstime cover waited-for children.
	utime, stime, cutime, cstime uint64
	rssPages                     int64
}

func (p procStat) zombie() bool { return p.state == 'Z' || p.state == 'X' }

// Stopped reports whether process pid is stopped by a signal (SIGSTOP,
// or traced): package trouble pauses a server's other workers while one
// accepts a connection and waits for this before connecting.
func Stopped(pid int) bool {
	st, err := readStat(pid)
	return err == nil && (st.state == 'T' || st.state == 't')
}

func (p procStat) cpuTicks() uint64 { return p.utime + p.stime + p.cutime + p.cstime }

func readStat(pid int) (procStat, error) {
	var buf [1024]byte
	b, err := readProcFile("/proc/"+strconv.Itoa(pid)+"/stat", buf[:0])
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// readProcFile reads a small /proc file into buf with plain system calls:
// the sampler runs next to the server being measured, so it stays cheap
// (os.ReadFile also registers every file with the poller).
func readProcFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// parseStat parses /proc/PID/stat. comm is in parentheses and may itself
// contain spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	var p procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return p, errors.New("malformed stat: no comm")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return p, fmt.Errorf("malformed stat: pid: %w", err)
	}
	p.pid, p.comm = pid, string(b[open+1:end])
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state) of proc(5); field k is f[k-3].
	const rssField = 24
	if len(f) < rssField-2 || len(f[0]) != 1 {
		return p, errors.New("malformed stat: too few fields")
	}
	p.state = f[0][0]
	ints := make([]int64, rssField+1)
	for _, k := range []int{4, 5, 14, 15, 16, 17, rssField} {
		v, err := strconv.ParseInt(string(f[k-3]), 10, 64)
		if err != nil {
			return p, fmt.Errorf("malformed stat: field %d: %w", k, err)
		}
		ints[k] = v
	}
	p.ppid, p.pgrp = int(ints[4]), int(ints[5])
	p.utime, p.stime = uint64(ints[14]), uint64(ints[15])
	p.cutime, p.cstime = uint64(ints[16]), uint64(ints[17])
	p.rssPages = ints[rssField]
	return p, nil
}

// cmdline is a process's arguments joined by spaces, cut at 256 bytes; ""
// when unreadable.
func cmdline(pid int) string {
	var buf [256]byte
	b, err := readProcFile("/proc/"+strconv.Itoa(pid)+"/cmdline", buf[:0])
	if err != nil {
		return ""
	}
	b = bytes.TrimRight(b[:min(len(b), len(buf))], "\x00")
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

// pidsInProc lists the numeric entries of /proc (processes, not threads).
func pidsInProc() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// scanProcs reads the stat of every process; processes that vanish while
// scanning are skipped.
func scanProcs() (map[int]procStat, error) {
	pids, err := pidsInProc()
	if err != nil {
		return nil, err
	}
	procs := make(map[int]procStat, len(pids))
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil {
			procs[pid] = st
		}
	}
	return procs, nil
}

// descendants returns the pids below root (root excluded), zombies included.
func descendants(procs map[int]procStat, root int) []int {
	children := make(map[int][]int)
	for _, p := range procs {
		if p.pid != root { // guard against a self-parented entry
			children[p.ppid] = append(children[p.ppid], p.pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// members is the set of live (non-zombie) processes below root or in
// process group pgrp, root and exclude excluded.
func members(procs map[int]procStat, root, pgrp, exclude int) []int {
	set := make(map[int]bool)
	if root > 0 {
		for _, pid := range descendants(procs, root) {
			set[pid] = true
		}
	}
	if pgrp > 0 {
		for _, p := range procs {
			if p.pgrp == pgrp {
				set[p.pid] = true
			}
		}
	}
	var out []int
	for pid := range set {
		if p, ok := procs[pid]; ok && !p.zombie() && pid != root && pid != exclude {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// pssBytes reads Pss from /proc/PID/smaps_rollup.
func pssBytes(pid int) (int64, bool) {
	var buf [2048]byte
	b, err := readProcFile("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", buf[:0])
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("Pss:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// Tagged lists the processes whose environment carries WSGIBENCH_TAG=tag
// (the caller excluded). Zombies and processes whose environment cannot be
// read are not listed.
func Tagged(tag string) []int {
	if tag == "" {
		return nil
	}
	pids, err := pidsInProc()
	if err != nil {
		return nil
	}
	want := []byte(TagEnv + "=" + tag)
	self := os.Getpid()
	var out []int
	buf := make([]byte, 0, 8192)
	for _, pid := range pids {
		if pid == self {
			continue
		}
		b, err := readProcFile("/proc/"+strconv.Itoa(pid)+"/environ", buf[:0])
		if err != nil || len(b) == 0 {
			continue
		}
		for kv := range bytes.SplitSeq(b, []byte{0}) {
			if bytes.Equal(kv, want) {
				out = append(out, pid)
				break
			}
		}
		buf = b[:0] // keep any growth
	}
	slices.Sort(out)
	return out
}

// KillTagged SIGKILLs every process carrying tag, repeating for a short while
// in case some fork meanwhile, and returns how many distinct processes it
// signalled.
func KillTagged(tag string) int {
	return killTagged(tag, Tagged, func(pid int) error { return unix.Kill(pid, unix.SIGKILL) }, 10*time.Millisecond)
}

// killQuietRounds is how many sweeps in a row must find no tagged process
// before KillTagged stops. One is not enough: a process inside execve reads
// an empty environment (the new image's is not set up yet), so a sweep that
// lands in that window misses it, and a child forked a moment before can
// show up in the next one. Three sweeps 10 ms apart outlast that window
// unless the process is kept off the CPU for longer; the reaper's kill of
// its process group and tree runs before this sweep, so both would have to
// miss a process for it to survive.
const killQuietRounds = 3

// killTagged is KillTagged with the lister, the signaller and the pause
// between sweeps passed in, for tests. It sweeps at most 50 times.
func killTagged(tag string, list func(string) []int, kill func(int) error, pause time.Duration) int {
	killed := make(map[int]bool)
	for round, quiet := 0, 0; round < 50 && quiet < killQuietRounds; round++ {
		pids := list(tag)
		if len(pids) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		for _, pid := range pids {
			if kill(pid) == nil {
				killed[pid] = true
			}
		}
		if quiet < killQuietRounds {
			time.Sleep(pause)
		}
	}
	return len(killed)
}

// describe formats pids as "123 (sleep, S), 456 (python3, D)" for diagnostics.
func describe(pids []int) string {
	var b bytes.Buffer
	for i, pid := range pids {
		if i > 0 {
			b.WriteString(", ")
		}
		if st, err := readStat(pid); err == nil {
			fmt.Fprintf(&b, "%d (%s, %c)", pid, st.comm, st.state)
		} else {
			fmt.Fprintf(&b, "%d", pid)
		}
	}
	return b.String()
}
