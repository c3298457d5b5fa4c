// Package probe checks how a running WSGI server speaks HTTP/1.1 and
// PEP 3333: the correctness half of the verdict, beside the speed that
// package load measures.
//
// Each [Case] writes exact bytes to the server over its own loopback
// connection and judges what comes back, and what the application was
// handed, against the rule it cites (RFC 9110/9112, PEP 3333). The server
// serves wsgibench's probe app (package pyapp, wsgibench_probe), whose
// /probe/echo reports the request as the app saw it, so a probe can tell
// how the server framed a request, not only whether it answered.
//
// # Outcomes
//
//	pass  the server did what the rule asks (rejecting a malformed
//	      request with 400 is a pass)
//	warn  legal or harmless behind a strict proxy, yet worth knowing
//	      (no 100 Continue; closing after every response; no header
//	      size limit)
//	fail  the rule is broken: a request body lost or misframed, a
//	      smuggled request reaching the app, a truncated response that
//	      looks complete, an environ PEP 3333 forbids
//	error the probe could not run (the server would not start again
//	      after an earlier probe killed it)
//
// After each case the runner checks the server still answers on a fresh
// connection; a case after which it does not fails, whatever it saw, and
// the server is started afresh for the next case.
//
// A score for ranking is (pass + warn/2) / (pass + warn + fail): see
// [Score]. The probes are deterministic requests, not samples, so two
// servers' scores differ only when their behaviour does.
package probe

import (
	"context"
	"fmt"
	"time"
)

// Outcome is a case's verdict.
type Outcome string

// The outcomes; see the package doc.
const (
	Pass  Outcome = "pass"
	Warn  Outcome = "warn"
	Fail  Outcome = "fail"
	Error Outcome = "error"
)

// Group is what a case is about.
type Group string

// The groups.
const (
	HTTP      Group = "http"      // HTTP/1.1 semantics and framing
	Smuggling Group = "smuggling" // ambiguous framing and header tricks a proxy in front may read otherwise
	WSGI      Group = "wsgi"      // PEP 3333: environ, input stream, response iterable
)

// Case is one probe.
type Case struct {
	ID    string
	Group Group
	Title string // what a conforming server does, as a sentence
	Ref   string // the rule: "RFC 9112 §6.3", "PEP 3333"
	check func(ctx context.Context, t *target) (Outcome, string)
}

// Result is one case's verdict on one server.
type Result struct {
	Case    Case
	Outcome Outcome
	Detail  string // what was seen, in words
	// Forwarded is, behind a front, how many requests the front passed
	// on to the server while the case ran; nil without a front, or when
	// the front's counters could not be read.
	Forwarded *int64
}

// Options tune a run.
type Options struct {
	// Timeout bounds each response (and each connect); 0 means 2 s. A
	// server that holds a probe longer is judged on that.
	Timeout time.Duration
	// Front, when the probes go through a proxy, counts what it passes on
	// to the server, so each case can say whether the front blocked it.
	Front Front
}

// Front is a proxy between the probes and the server. Mark notes its
// counters once nothing is in flight; Forwarded is how many requests it
// passed on to the server since a mark. A front that answers a malformed
// request itself forwards nothing: that is how a case is known to be
// blocked rather than answered by the server through it.
type Front interface {
	Mark(ctx context.Context) (any, error)
	Forwarded(ctx context.Context, mark any) (int64, error)
}

// Server is the server under test as a run needs it: where it listens,
// and a way to start it afresh after a probe left it unable to answer.
type Server interface {
	Addr() string
	Restart(ctx context.Context) error
}

// target is what a check sees.
type target struct {
	addr    string
	timeout time.Duration
}

func (t *target) dial(ctx context.Context) (*conn, error) { return dial(ctx, t.addr, t.timeout) }

// Run runs cases (every case when nil) against s, in order, and returns a
// result for each. It stops early only when ctx is done; the cases not run
// are left out.
func Run(ctx context.Context, s Server, cases []Case, o Options) []Result {
	if cases == nil {
		cases = Cases()
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	var out []Result
	down := "" // why the server is gone for good, once it is
	for _, c := range cases {
		if ctx.Err() != nil {
			break
		}
		if down != "" {
			out = append(out, Result{Case: c, Outcome: Error, Detail: down})
			continue
		}
		t := &target{addr: s.Addr(), timeout: o.Timeout}
		var mark any
		if o.Front != nil {
			var err error
			if mark, err = o.Front.Mark(ctx); err != nil {
				mark = nil
			}
		}
		outcome, detail := c.check(ctx, t)
		if ctx.Err() != nil {
			break
		}
		var forwarded *int64
		if mark != nil {
			if n, err := o.Front.Forwarded(ctx, mark); err == nil {
				forwarded = &n
			}
		}
		if err := healthy(ctx, s.Addr(), o.Timeout); err != nil {
			outcome = Fail
			detail = fmt.Sprintf("%s; then the server stopped answering (%v)", detail, err)
			if rerr := s.Restart(ctx); rerr != nil {
				down = fmt.Sprintf("not run: the server did not start again after %s: %v", c.ID, rerr)
			}
		}
		out = append(out, Result{Case: c, Outcome: outcome, Detail: detail, Forwarded: forwarded})
	}
	return out
}

// healthy asks for /plaintext on a new connection.
func healthy(ctx context.Context, addr string, timeout time.Duration) error {
	c, err := dial(ctx, addr, timeout)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.send("GET /plaintext HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	r, err := c.read("GET", 0)
	if err != nil {
		return err
	}
	if r.status != 200 {
		return fmt.Errorf("/plaintext answered %d", r.status)
	}
	return nil
}

// Tally counts outcomes.
type Tally struct{ Pass, Warn, Fail, Error int }

// Count tallies results.
func Count(rs []Result) Tally {
	var t Tally
	for _, r := range rs {
		switch r.Outcome {
		case Pass:
			t.Pass++
		case Warn:
			t.Warn++
		case Fail:
			t.Fail++
		default:
			t.Error++
		}
	}
	return t
}

// Score is (pass + warn/2) / (pass + warn + fail), in 0-1; cases that
// could not run do not count. ok is false when none ran.
func Score(t Tally) (score float64, ok bool) {
	n := t.Pass + t.Warn + t.Fail
	if n == 0 {
		return 0, false
	}
	return (float64(t.Pass) + float64(t.Warn)/2) / float64(n), true
}

// Passage is what a front between the probes and the server did with a
// case, judged against the same case sent to the server directly.
type Passage string

// The passages.
const (
	// Blocked: the front answered the case itself and passed nothing of
	// it to the server.
	Blocked Passage = "blocked"
	// Normalised: the front passed the case on, and the server's verdict
	// changed from the direct one: the front rewrote the request (its
	// framing, its headers) or the exchange before the server saw it.
	Normalised Passage = "normalised"
	// Passed: the front passed the case on and the server's verdict is
	// the same as directly.
	Passed Passage = "passed"
)

// Through tells what the front did with a case behind it, given the
// outcome of the same case sent to the server directly ("" when it was
// not, or could not be). It is "" when the front's counters could not be
// read. A direct outcome that is missing or an error cannot be compared,
// so a forwarded case is then counted as passed.
func Through(behind Result, direct Outcome) Passage {
	switch {
	case behind.Forwarded == nil:
		return ""
	case *behind.Forwarded == 0:
		return Blocked
	case direct != "" && direct != Error && behind.Outcome != direct:
		return Normalised
	}
	return Passed
}
