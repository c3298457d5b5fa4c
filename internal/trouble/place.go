package trouble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/wsgibench/wsgibench/internal/proc"
)

// Why connections are placed.
//
// A server of several worker processes shares one listening socket, and
// the kernel hands each new connection to whichever worker wakes first.
// On a quiet machine that is not random: with gunicorn's gthread workers
// two of three workers took turns accepting every connection while the
// third took only the first, and a burst of connections mostly went to one
// worker. A scenario's outcome then hangs on where its few connections
// landed: 64 slow clients spread over every worker leave the victims
// nothing, the same 64 missing one worker that the victims happen to land
// on leave them everything. Identical runs gave 0% and 100% (gthread
// slow-headers) and 0% and 99% (hypercorn hung-request: were the victims on
// the hung worker or not?).
//
// So the scenarios place their connections the way many clients arriving
// over time would spread: round robin over the workers. A placer freezes
// every worker but the chosen one (SIGSTOP, for a few milliseconds),
// connects, waits until the chosen one has accepted (its file descriptors
// hold the server side of the connection, found through sock_diag), and
// thaws the others. A worker that does not accept within acceptWait (a
// sync worker busy with a slow client, a process that never accepts) is
// full; the connections meant for it wait in the listen backlog, as they
// would. The victims are placed the same way for the baseline and under
// the trouble, so the two are measured in the same conditions.

// unplaceable remembers, by server (address and main pid), why its
// connections cannot be placed, so only the first load on a fresh server
// (the warm-up, not measured) pays acceptWait per worker to find out.
var unplaceable sync.Map

// accepting and deaf remember worker pids that accepted a placed
// connection, and ones that never did and let one wait acceptWait (a
// helper process, such as the multiprocessing resource tracker uvicorn's
// workers run beside them): later placers leave the deaf ones out rather
// than pay the wait again.
var accepting, deaf sync.Map

// acceptWait is how long a chosen worker has to accept a connection.
const acceptWait = 100 * time.Millisecond

// placer puts connections on chosen worker processes of a server.
type placer struct {
	addr    string
	tcp     *net.TCPAddr // nil when placing is off from the start
	workers []int

	mu   sync.Mutex
	full []bool // worker i did not accept in time
	on   []int  // connections placed on worker i
	// off is why placing stopped working for this server ("" while it
	// works); connections are then left to the kernel.
	off string
	key string // the server, in unplaceable
}

// newPlacer returns a placer for s's workers. With one process there is
// nothing to place, and it dials as a plain dialer does.
func newPlacer(s Server) *placer {
	// By pid, not busiest first: the same order in every load of a scenario.
	p := &placer{addr: s.Addr(), workers: slices.Sorted(slices.Values(s.Workers())),
		key: s.Addr() + "/" + strconv.Itoa(s.Main())}
	if why, ok := unplaceable.Load(p.key); ok && len(p.workers) >= 2 {
		// Known not to work here (and its workers are deaf, so left out
		// below): dial plainly, and say why.
		p.off = why.(string)
		return p
	}
	p.workers = slices.DeleteFunc(p.workers, func(pid int) bool { _, ok := deaf.Load(pid); return ok })
	if len(p.workers) < 2 {
		p.workers = nil
		return p
	}
	addr, err := net.ResolveTCPAddr("tcp", s.Addr())
	if err != nil {
		p.workers = nil
		return p
	}
	p.tcp, p.full, p.on = addr, make([]bool, len(p.workers)), make([]int, len(p.workers))
	return p
}

// stop turns placing off for this server, saying why.
func (p *placer) stop(why string) {
	p.off = why
	unplaceable.Store(p.key, why)
}

// dial connects, on worker i modulo the workers when placing works and
// that worker is not full, else wherever the kernel puts it.
func (p *placer) dial(ctx context.Context, i int, timeout time.Duration) (net.Conn, error) {
	if p.workers == nil {
		return p.plain(ctx, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := -1
	if p.off == "" {
		for k := range p.workers {
			if j := (i + k) % len(p.workers); !p.full[j] {
				w = j
				break
			}
		}
	}
	if w < 0 {
		return p.plain(ctx, timeout)
	}
	target := p.workers[w]
	var stopped []int
	defer func() {
		for _, pid := range stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	for _, pid := range p.workers {
		if pid != target && syscall.Kill(pid, syscall.SIGSTOP) == nil {
			stopped = append(stopped, pid)
		}
	}
	for _, pid := range stopped {
		waitStopped(pid)
	}
	c, err := p.plain(ctx, timeout)
	if err != nil {
		return nil, err
	}
	owner, err := p.accepted(ctx, c, target)
	switch {
	case err != nil:
		p.stop(err.Error())
	case owner == target:
		p.on[w]++
		accepting.Store(target, true)
	case owner == 0:
		p.full[w] = true
		if _, ok := accepting.Load(target); !ok {
			deaf.Store(target, true)
		}
		if !slices.Contains(p.full, false) && !slices.ContainsFunc(p.on, func(n int) bool { return n > 0 }) {
			p.stop("no worker accepted a connection while the others were paused: an accept lock, or processes that do not accept")
		}
	default:
		p.stop(fmt.Sprintf("process %d, not the chosen worker, accepted a connection", owner))
	}
	return c, nil
}

// plain connects wherever the kernel puts the connection.
func (p *placer) plain(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	return d.DialContext(ctx, "tcp", p.addr)
}

// placed is how many connections went to the worker chosen for them.
func (p *placer) placed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, k := range p.on {
		n += k
	}
	return n
}

// accepted waits up to acceptWait for c's server side to be accepted and
// returns the process holding it: target, another process of the server
// (the main one) or 0 when none has accepted it yet.
func (p *placer) accepted(ctx context.Context, c net.Conn, target int) (int, error) {
	local, ok := c.LocalAddr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP connection")
	}
	deadline := time.Now().Add(acceptWait)
	for {
		// From the server's side: its address is the local one.
		s, err := netlink.SocketGet(p.tcp, local)
		if err != nil {
			return 0, fmt.Errorf("finding the server's side of a connection: %w", err)
		}
		if s.INode != 0 {
			link := "socket:[" + strconv.FormatUint(uint64(s.INode), 10) + "]"
			if holds(target, link) {
				return target, nil
			}
			for _, pid := range p.workers {
				if pid != target && holds(pid, link) {
					return pid, nil
				}
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, nil
		}
		time.Sleep(time.Millisecond)
	}
}

// holds reports whether process pid has a file descriptor on link.
func holds(pid int, link string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && l == link {
			return true
		}
	}
	return false
}

// waitStopped waits up to 20 ms for pid to be in the stopped state.
func waitStopped(pid int) {
	for range 20 {
		if proc.Stopped(pid) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// spread says where the placed connections went, for a result's detail.
func (p *placer) spread() string {
	if p.workers == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off != "" {
		return "connections left to the kernel (" + p.off + ")"
	}
	var parts []string
	for i, n := range p.on {
		s := strconv.Itoa(n)
		if p.full[i] {
			s += " (then full)"
		}
		parts = append(parts, s)
	}
	return "connections placed round robin over the " + strconv.Itoa(len(p.workers)) + " workers: " + strings.Join(parts, "/")
}
