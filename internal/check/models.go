package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// stallCopies is how many copies of the slowest request the stall test
// sends at once.
const stallCopies = 8

// stall is the stall test's measurement on one server: the slowest safe
// request alone, and stallCopies of it at once (wall time).
type stall struct {
	req             string
	alone, together time.Duration
}

// evidence collects findings, one per request and kind.
type evidence struct {
	list []results.CheckEvidence
	seen map[string]bool
}

func (e *evidence) add(req, what string) {
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	if e.seen[req+"\x00"+what] || len(e.list) >= 12 {
		return
	}
	e.seen[req+"\x00"+what] = true
	e.list = append(e.list, results.CheckEvidence{Request: req, What: what})
}

func (c *checker) threads(ctx context.Context) (results.CheckModel, stall) {
	row := results.CheckModel{Model: results.CheckThread,
		How: fmt.Sprintf("gunicorn gthread: 1 process × %d threads; each request alone, then %d at once", c.o.Threads, c.o.Threads)}
	s, err := c.serve(ctx, "gthread", "--workers", "1", "--worker-class", "gthread", "--threads", strconv.Itoa(c.o.Threads))
	if err != nil {
		row.Verdict, row.Evidence = results.CheckUnsafe, []results.CheckEvidence{{What: "the app would not start: " + oneLine(err.Error())}}
		return row, stall{}
	}
	defer s.stop()
	var ev evidence
	st := c.concurrency(ctx, s, &ev, "")
	row.Evidence, row.Verdict = ev.list, verdict(ev.list)
	return row, st
}

func (c *checker) greenlets(ctx context.Context, threaded stall) results.CheckModel {
	row := results.CheckModel{Model: results.CheckGreenlet,
		How: fmt.Sprintf("gunicorn gevent (monkey-patched): 1 process; each request alone, then %d at once", c.o.Threads)}
	s, err := c.serve(ctx, "gevent", "--workers", "1", "--worker-class", "gevent", "--worker-connections", "200")
	if err != nil {
		row.Verdict, row.Evidence = results.CheckUnsafe, []results.CheckEvidence{{What: "the app would not start under gevent: " + oneLine(err.Error())}}
		return row
	}
	defer s.stop()
	var ev evidence
	st := c.concurrency(ctx, s, &ev, threaded.req) // the same request as under threads
	if why, how := judgeStall(threaded, st); why != "" {
		ev.add(st.req, why)
	} else if how != "" {
		row.How += "; " + how
	}
	row.Evidence, row.Verdict = ev.list, verdict(ev.list)
	return row
}

// stallMin is the shortest request the stall test can judge: below it,
// scheduling noise on a busy machine is as large as the effect.
const stallMin = 20 * time.Millisecond

// judgeStall compares the stall test under threads and under gevent. A
// request that waits overlaps with its copies under threads; under gevent
// it overlaps only if the wait yields to the loop. Copies that overlap
// under threads (at most half the gevent time) but take at least half of
// stallCopies × alone under gevent are the loop stalling. It returns the
// finding, or else a note on what was measured.
func judgeStall(threaded, green stall) (why, how string) {
	if green.req == "" || threaded.req != green.req {
		return "", ""
	}
	if green.alone < stallMin {
		return "", fmt.Sprintf("no request waits long enough for the stall test (the slowest, %s, took %s)", green.req, round(green.alone))
	}
	serialized := green.together >= time.Duration(stallCopies/2)*green.alone
	if serialized && 2*threaded.together <= green.together {
		return fmt.Sprintf("%d at once took %s under gevent (one alone %s) but %s under threads: something blocks the event loop where gevent cannot patch it (a C database driver, a native sleep)",
			stallCopies, round(green.together), round(green.alone), round(threaded.together)), ""
	}
	return "", fmt.Sprintf("stall test: %d × %s at once took %s (threads %s, one alone %s)",
		stallCopies, green.req, round(green.together), round(threaded.together), round(green.alone))
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// concurrency sends the requests alone, then at once, on a server of one
// process, and records what differs. It returns the stall measurement of
// stallReq, or of the slowest safe request when that is "".
func (c *checker) concurrency(ctx context.Context, s *running, ev *evidence, stallReq string) stall {
	reqs, to := c.o.Requests, c.o.Timeout
	failedAlone := map[string]bool{}
	for _, r := range reqs {
		if rp := send(ctx, s.addr, r, to); rp.Err != nil || rp.Status >= 500 {
			ev.add(r.String(), "alone: "+rp.String())
			failedAlone[r.String()] = true
		}
	}
	// Each safe request twice, alone: the answer it must keep, and whether
	// it is stable at all (a clock or a random number in a body is not).
	safe := uniqueSafe(reqs)
	first, second := make([]reply, len(safe)), make([]reply, len(safe))
	for i, r := range safe {
		first[i] = send(ctx, s.addr, r, to)
		second[i] = send(ctx, s.addr, r, to)
	}
	if len(safe) > 0 {
		n := max(6*c.o.Threads, len(safe))
		n = min(n, max(300, len(safe)))
		jobs := make([]Request, n)
		for j := range jobs {
			jobs[j] = safe[j%len(safe)]
		}
		got := together(ctx, s.addr, jobs, c.o.Threads, to)
		differs, example := make([]int, len(safe)), make([]reply, len(safe))
		for j, rp := range got {
			k := j % len(safe)
			base, stable := first[k], first[k].same(second[k])
			if base.Err != nil || base.Status >= 500 {
				continue // it failed alone already: nothing to compare with
			}
			if rp.Err != nil || rp.Status != base.Status || (stable && !rp.same(base)) {
				differs[k]++
				example[k] = rp
			}
		}
		// One line: the first request that differed, and how many did.
		reqsDiffer, answersDiffer, firstK := 0, 0, -1
		for k, n := range differs {
			if n > 0 {
				reqsDiffer++
				answersDiffer += n
				if firstK < 0 {
					firstK = k
				}
			}
		}
		if firstK >= 0 {
			ev.add(safe[firstK].String(), fmt.Sprintf("alone %s, with %d at once %s (%d of %d requests, %d of %d answers differed)",
				first[firstK], c.o.Threads, example[firstK], reqsDiffer, len(safe), answersDiffer, len(jobs)))
		}
	}
	// Everything at once, twice over: writes race with reads and writes.
	all := append(slices.Clone(reqs), reqs...)
	failed := map[string]int{}
	var failedOrder []string
	examples := map[string]reply{}
	for j, rp := range together(ctx, s.addr, all, c.o.Threads, to) {
		if k := all[j].String(); (rp.Err != nil || rp.Status >= 500) && !failedAlone[k] {
			if failed[k] == 0 {
				failedOrder = append(failedOrder, k)
			}
			failed[k]++
			examples[k] = rp
		}
	}
	for _, k := range failedOrder {
		ev.add(k, fmt.Sprintf("%d failed with %d at once: %s", failed[k], c.o.Threads, examples[k]))
	}
	if n, first := s.tracebacks(); n > 0 {
		ev.add("", fmt.Sprintf("%d tracebacks in the server's output, the first: %s", n, first))
	}
	// The stall test: the slowest safe request, stallCopies at once.
	st := stall{}
	for i, r := range safe {
		alone := min(first[i].Dur, second[i].Dur)
		ok := first[i].Err == nil && first[i].Status < 400
		if ok && (r.String() == stallReq || stallReq == "" && alone > st.alone) {
			st.req, st.alone = r.String(), alone
		}
	}
	if st.req != "" {
		var r Request
		for _, x := range safe {
			if x.String() == st.req {
				r = x
			}
		}
		copies := make([]Request, stallCopies)
		for i := range copies {
			copies[i] = r
		}
		t0 := time.Now()
		together(ctx, s.addr, copies, stallCopies, to)
		st.together = time.Since(t0)
	}
	return st
}

// uniqueSafe lists the distinct safe requests in order of first use.
func uniqueSafe(reqs []Request) []Request {
	seen := map[string]bool{}
	var out []Request
	for _, r := range reqs {
		if r.Safe() && !seen[r.String()] {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	return out
}

// processes runs the requests on two pre-forked workers and has both
// answer every safe request.
func (c *checker) processes(ctx context.Context) results.CheckModel {
	row := results.CheckModel{Model: results.CheckProcess,
		How: "gunicorn sync: 2 processes forked after importing the app (--preload); each read answered by both"}
	s, err := c.serve(ctx, "sync", "--workers", "2", "--worker-class", "sync", "--preload")
	if err != nil {
		row.Verdict, row.Evidence = results.CheckUnsafe, []results.CheckEvidence{{What: "the app would not start: " + oneLine(err.Error())}}
		return row
	}
	defer s.stop()
	c.waitWorkers(ctx, s, 2)
	var ev evidence
	to := c.o.Timeout
	lastWrite := ""
	asked := map[string]bool{} // safe requests both workers answered since the last write
	oneWorker, compared := 0, 0
	for _, r := range c.o.Requests {
		if ctx.Err() != nil {
			break
		}
		if !r.Safe() {
			rp := send(ctx, s.addr, r, to)
			if rp.Err != nil || rp.Status >= 500 {
				ev.add(r.String(), "failed: "+rp.String())
			}
			lastWrite = fmt.Sprintf(" (after %s, answered %d by worker %s)", r, rp.Status, rp.Pid)
			clear(asked)
			continue
		}
		if asked[r.String()] {
			continue
		}
		asked[r.String()] = true
		a, b, err := c.bothWorkers(ctx, s.addr, r)
		switch {
		case err != nil:
			ev.add(r.String(), "failed: "+oneLine(err.Error()))
			continue
		case a.Err != nil || a.Status >= 500:
			ev.add(r.String(), "failed: "+a.String())
			continue
		case b.Err != nil || b.Status >= 500:
			ev.add(r.String(), "failed: "+b.String())
			continue
		case a.Pid == b.Pid:
			oneWorker++
			continue
		}
		compared++
		if a.same(b) {
			continue
		}
		// They differ. Ask both again: a worker that changes its own
		// answer (a clock, a random number) is no evidence.
		a2, b2, err := c.bothWorkers(ctx, s.addr, r)
		if err != nil {
			continue
		}
		by := map[string]reply{a.Pid: a, b.Pid: b}
		if p, ok := by[a2.Pid]; !ok || !p.same(a2) {
			continue
		}
		if p, ok := by[b2.Pid]; !ok || !p.same(b2) {
			continue
		}
		ev.add(r.String(), fmt.Sprintf("worker %s answered %s but worker %s answered %s%s: state kept in process memory",
			a.Pid, a, b.Pid, b, lastWrite))
	}
	if n, first := s.tracebacks(); n > 0 {
		ev.add("", fmt.Sprintf("%d tracebacks in the server's output, the first: %s", n, first))
	}
	for _, f := range sharedFDs(s.reports) { // while the server holds them, so /proc/net can name them
		ev.add("", f)
	}
	if oneWorker > 0 {
		row.How += fmt.Sprintf(" (%d reads reached one worker only)", oneWorker)
	}
	row.Evidence, row.Verdict = ev.list, verdict(ev.list)
	if compared == 0 && len(ev.list) == 0 {
		// Nothing read by both workers: no evidence either way on state.
		row.Verdict = results.CheckSkipped
		row.How += "; no GET was answered by both workers, so there was nothing to compare (give --workload a GET)"
	}
	return row
}

// bothWorkers has each of two sync workers answer r: a half-sent copy
// holds the worker that accepts it, so the whole one sent next must be
// answered by the other; then the first copy is completed.
func (c *checker) bothWorkers(ctx context.Context, addr string, r Request) (reply, reply, error) {
	p, err := sendHalf(ctx, addr, r, c.o.Timeout)
	if err != nil {
		return reply{}, reply{}, err
	}
	a := send(ctx, addr, r, c.o.Timeout)
	b := p.finish(r)
	return a, b, nil
}

// waitWorkers waits (a bounded while) until the server has n workers.
func (c *checker) waitWorkers(ctx context.Context, s *running, n int) {
	deadline := time.Now().Add(c.o.ReadyTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if len(s.group.Workers()) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fdReport is what the wrapper writes: import-<pid>.json ("fds" opened by
// the app at import) and worker-<pid>.json (the ones a worker holds).
type fdReport struct {
	Pid int `json:"pid"`
	FDs []struct {
		FD   int    `json:"fd"`
		What string `json:"what"`
	} `json:"fds"`
	Held []struct {
		FD   int    `json:"fd"`
		What string `json:"what"`
	} `json:"held"`
}

// sharedFDs names the descriptors the app opened at import time in the
// master that forked workers went on holding: the master and every worker
// share each one.
func sharedFDs(dir string) []string {
	read := func(pattern string) []fdReport {
		paths, _ := filepath.Glob(filepath.Join(dir, pattern))
		var out []fdReport
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			var r fdReport
			if json.Unmarshal(data, &r) == nil {
				out = append(out, r)
			}
		}
		return out
	}
	imports, workers := read("import-*.json"), read("worker-*.json")
	var out []string
	for _, im := range imports {
		for _, fd := range im.FDs {
			var holders []string
			for _, w := range workers {
				if w.Pid == im.Pid {
					continue
				}
				for _, h := range w.Held {
					if h.FD == fd.FD && h.What == fd.What {
						holders = append(holders, strconv.Itoa(w.Pid))
					}
				}
			}
			if len(holders) > 0 {
				slices.Sort(holders)
				out = append(out, fmt.Sprintf("%s (fd %d) was opened at import time, before fork, and is still held by %d forked workers (pids %s): one connection or file handle shared by several processes",
					describeFD(fd.What), fd.FD, len(holders), strings.Join(holders, ", ")))
			}
		}
	}
	return out
}
