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
}

// Options tune a run.
type Options struct {
	// Timeout bounds each response (and each connect); 0 means 2 s. A
	// server that holds a probe longer is judged on that.
	Timeout time.Duration
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
		outcome, detail := c.check(ctx, t)
		if ctx.Err() != nil {
			break
		}
		if err := healthy(ctx, s.Addr(), o.Timeout); err != nil {
			outcome = Fail
			detail = fmt.Sprintf("%s; then the server stopped answering (%v)", detail, err)
			if rerr := s.Restart(ctx); rerr != nil {
				down = fmt.Sprintf("not run: the server did not start again after %s: %v", c.ID, rerr)
			}
		}
		out = append(out, Result{Case: c, Outcome: outcome, Detail: detail})
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
