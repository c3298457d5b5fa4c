package trouble

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
)

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Hello, World!") })
	mux.HandleFunc("/probe/echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "{}")
	})
	mux.HandleFunc("/probe/sleep", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-r.Context().Done():
		case <-time.After(min(time.Duration(ms)*time.Millisecond, 5*time.Second)):
		}
	})
	return mux
}

// fake is a server for the scenarios: an address and, for worker-killed,
// a process standing in for the server's.
type fake struct {
	addr     string
	main     int
	restarts int
}

func (f *fake) Addr() string                  { return f.addr }
func (f *fake) Workers() []int                { return nil }
func (f *fake) Main() int                     { return f.main }
func (f *fake) Restart(context.Context) error { f.restarts++; return nil }

// serial serves one connection at a time and closes it after the
// response, as gunicorn's sync worker does: the kind of server slow
// clients stall.
func serial(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		h := handler()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			for {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				req, err := http.ReadRequest(br)
				if err != nil {
					break
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				resp := rec.Result()
				resp.ContentLength = int64(rec.Body.Len())
				resp.Close = true
				resp.Write(c)
				break
			}
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

var quick = Options{Baseline: 300 * time.Millisecond, After: 300 * time.Millisecond, Window: time.Second, Attackers: 8}

func only(id string) []Scenario {
	for _, s := range Scenarios() {
		if s.ID == id {
			return []Scenario{s}
		}
	}
	panic(id)
}

// Slow clients stall a server that serves one connection at a time, and
// do not stall one with a goroutine per connection: the score tells them
// apart.
func TestSlowClientsSeparateServers(t *testing.T) {
	concurrent := httptest.NewServer(handler())
	defer concurrent.Close()
	for _, id := range []string{"slow-headers", "slow-body"} {
		t.Run(id, func(t *testing.T) {
			good := Run(context.Background(), &fake{addr: concurrent.Listener.Addr().String()}, only(id), quick)[0]
			bad := Run(context.Background(), &fake{addr: serial(t)}, only(id), quick)[0]
			t.Logf("concurrent: %s\nserial: %s", good.Detail, bad.Detail)
			if good.Err != nil || bad.Err != nil {
				t.Fatalf("errors: %v, %v", good.Err, bad.Err)
			}
			if good.Retained < 0.5 {
				t.Errorf("a goroutine per connection kept only %.0f%%", 100*good.Retained)
			}
			if bad.Retained > 0.2 || bad.Recovered {
				t.Errorf("a serial server kept %.0f%% (recovered %v) under slow clients", 100*bad.Retained, bad.Recovered)
			}
			if !strings.Contains(good.Detail, "8 slow clients") {
				t.Errorf("detail %q", good.Detail)
			}
		})
	}
}

func TestHungRequest(t *testing.T) {
	concurrent := httptest.NewServer(handler())
	defer concurrent.Close()
	r := Run(context.Background(), &fake{addr: concurrent.Listener.Addr().String()}, only("hung-request"), quick)[0]
	if r.Err != nil || r.Retained < 0.5 {
		t.Errorf("%v: kept %.0f%%: %s", r.Err, 100*r.Retained, r.Detail)
	}
	r = Run(context.Background(), &fake{addr: serial(t)}, only("hung-request"), quick)[0]
	if r.Err != nil || r.Retained > 0.2 {
		t.Errorf("serial server with a hung request: %v: kept %.0f%%: %s", r.Err, 100*r.Retained, r.Detail)
	}
}

// The scenarios whose trouble lifts measure the victims alone again after
// it, once the hang is over: a serial server held by the hung request for
// the whole window serves again after it, and its rate then counts in the
// reference.
func TestMeasuredAfterTheTrouble(t *testing.T) {
	for _, id := range []string{"hung-request", "slow-headers"} {
		t.Run(id, func(t *testing.T) {
			r := Run(context.Background(), &fake{addr: serial(t)}, only(id), quick)[0]
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.AfterRPS <= 0 || r.BeforeRPS <= 0 {
				t.Fatalf("before %.0f, after %.0f req/s: %s", r.BeforeRPS, r.AfterRPS, r.Detail)
			}
			lo, hi := min(r.BeforeRPS, r.AfterRPS), max(r.BeforeRPS, r.AfterRPS)
			if r.BaselineRPS < lo || r.BaselineRPS > hi {
				t.Errorf("reference %.0f not between before %.0f and after %.0f", r.BaselineRPS, r.BeforeRPS, r.AfterRPS)
			}
			if !strings.Contains(r.Detail, "before,") || !strings.Contains(r.Detail, "after)") {
				t.Errorf("detail %q", r.Detail)
			}
		})
	}
	// A scenario that leaves the server changed is measured against the
	// rate before it only.
	concurrent := httptest.NewServer(handler())
	defer concurrent.Close()
	r := Run(context.Background(), &fake{addr: concurrent.Listener.Addr().String()}, only("reload"), quick)[0]
	if r.AfterRPS != 0 || (r.Err == nil && r.BaselineRPS != r.BeforeRPS) {
		t.Errorf("reload: after %.0f, reference %.0f, before %.0f", r.AfterRPS, r.BaselineRPS, r.BeforeRPS)
	}
}

func TestReference(t *testing.T) {
	s2, s1 := 2*time.Second, time.Second
	for _, c := range []struct {
		name         string
		before, rate float64
		after, ref   float64
		noteHas      string
	}{
		{"same", 900, 900, 900, 900, "900 before, 900 after"},
		{"weighted by time", 900, 600, 600, 800, "900 before, 600 after"},
		{"higher after", 600, 900, 900, 700, "600 before, 900 after"},
		{"not back to half", 900, 400, 0, 900, "not back to half; not used"},
		{"nothing after", 900, 0, 0, 900, "not used"},
	} {
		t.Run(c.name, func(t *testing.T) {
			after, ref, note := reference(c.before, c.rate, s2, s1)
			if after != c.after || ref != c.ref || !strings.Contains(note, c.noteHas) {
				t.Errorf("reference(%v, %v) = %v, %v, %q; want %v, %v, %q", c.before, c.rate, after, ref, note, c.after, c.ref, c.noteHas)
			}
		})
	}
}

// worker-killed kills the process the server names; with no workers, its
// main one.
func TestWorkerKilled(t *testing.T) {
	concurrent := httptest.NewServer(handler())
	defer concurrent.Close()
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- victim.Wait() }()
	f := &fake{addr: concurrent.Listener.Addr().String(), main: victim.Process.Pid}
	rs := Run(context.Background(), f, append(only("worker-killed"), only("hung-request")...), quick)
	if len(rs) != 2 || f.restarts != 1 {
		t.Fatalf("%d results, %d restarts", len(rs), f.restarts)
	}
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("victim process exited with %v", err)
		}
	case <-time.After(5 * time.Second):
		victim.Process.Kill()
		t.Fatal("the process was not killed")
	}
	if !strings.Contains(rs[0].Detail, "the server's only process") {
		t.Errorf("detail %q", rs[0].Detail)
	}
}

func TestScore(t *testing.T) {
	rs := []Result{{Retained: 1}, {Retained: 0.5}, {Retained: 0, Err: io.EOF}}
	if s, ok := Score(rs); !ok || s != 0.75 {
		t.Errorf("Score = %v, %v", s, ok)
	}
	if _, ok := Score(nil); ok {
		t.Error("Score of nothing is ok")
	}
}

// slots is a server that serves `n` requests at a time, each taking 50 ms
// (a sleep, so its capacity holds however busy the machine is: 20·n
// req/s). A rejection takes 20 ms, so a closed loop of rejected clients
// does not turn into a storm that takes the CPU from everything else. When every slot is taken it sheds (503 at once) or queues;
// broken, once more than 40 requests wait (more than the 32 of the capacity
// estimate can make), it stops answering for good.
func slots(t *testing.T, n int, mode string) string {
	sem := make(chan struct{}, n)
	var mu sync.Mutex
	waiting, dead := 0, false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mode == "shed" {
			select {
			case sem <- struct{}{}:
			default:
				time.Sleep(20 * time.Millisecond)
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		} else {
			mu.Lock()
			waiting++
			if mode == "broken" && waiting > 40 {
				dead = true
			}
			stuck := dead
			mu.Unlock()
			if stuck {
				<-r.Context().Done()
				return
			}
			sem <- struct{}{}
			mu.Lock()
			waiting--
			mu.Unlock()
		}
		time.Sleep(50 * time.Millisecond)
		<-sem
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// The overload scenario tells a server that sheds from one that queues
// and one that falls over.
func TestOverloadOutcomes(t *testing.T) {
	// 64 connections leave a queueing server 64 × 50 ms / 4 = 0.8 s of
	// backlog to work off, well inside the recovery window.
	o := Options{Baseline: 500 * time.Millisecond, Overload: time.Second, Recovery: 3 * time.Second, OverloadConns: 64}
	for _, tc := range []struct {
		mode string
		want Outcome
	}{{"shed", Shed}, {"queue", Queued}, {"broken", FellOver}} {
		t.Run(tc.mode, func(t *testing.T) {
			r := Run(context.Background(), &fake{addr: slots(t, 4, tc.mode)}, only("overload"), o)[0]
			t.Logf("%s: retained %.2f, recovered %v in %v: %s", tc.mode, r.Retained, r.Recovered, r.Recovery, r.Detail)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Outcome != tc.want {
				t.Errorf("outcome %q, want %q", r.Outcome, tc.want)
			}
			switch tc.want {
			case Shed:
				if r.Retained < 0.5 || !r.Recovered {
					t.Errorf("a shedding server kept %.0f%% in time and recovered %v; want most, and recovered", 100*r.Retained, r.Recovered)
				}
			case Queued:
				if r.Retained > 0.5 || !r.Recovered {
					t.Errorf("a queueing server kept %.0f%% in time (want under half) and recovered %v", 100*r.Retained, r.Recovered)
				}
			case FellOver:
				if r.Recovered {
					t.Error("a server that stopped answering recovered")
				}
			}
		})
	}
}

// A server whose rate is bound by a wait per request, not by work (here
// 20 ms, any number at a time), serves twice what 32 connections get
// without a queue: the scenario sees it kept up, and takes its capacity
// again on as many connections as the overload has.
func TestOverloadLatencyBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	o := Options{Baseline: 500 * time.Millisecond, Overload: time.Second, Recovery: 2 * time.Second, OverloadConns: 128}
	r := Run(context.Background(), &fake{addr: srv.Listener.Addr().String()}, only("overload"), o)[0]
	t.Logf("retained %.2f, %s: %s", r.Retained, r.Outcome, r.Detail)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	// 32 connections get at most 1,600 req/s; 128 up to 6,400.
	if r.BaselineRPS < 2400 || !strings.Contains(r.Detail, "closed loop of 128") {
		t.Errorf("capacity %.0f req/s, want it taken again on 128 connections (over 2,400): %s", r.BaselineRPS, r.Detail)
	}
}

// judgeOverload's rules on made-up runs: the classification does not
// depend on timing.
func TestJudgeOverload(t *testing.T) {
	o := Options{}.withDefaults()
	sec := func(req, errs int64, p99 time.Duration) load.Second {
		return load.Second{Requests: req, Errors: errs, P99us: p99.Microseconds()}
	}
	run := func(sent int64, e load.Errors, lat time.Duration, n int64, tl ...load.Second) *load.Result {
		h := load.NewHistogram()
		h.RecordValues(lat.Microseconds(), n)
		return &load.Result{Sent: sent, Requests: n, Errors: e, Latency: h, Elapsed: time.Duration(len(tl)) * time.Second, Timeline: tl}
	}
	fast := []load.Second{sec(50, 0, 5*time.Millisecond), sec(50, 0, 5*time.Millisecond)}
	slowThenFast := []load.Second{sec(50, 0, 700*time.Millisecond), sec(50, 0, 5*time.Millisecond)}
	for _, tc := range []struct {
		name      string
		over, rec *load.Result
		want      Outcome
		recovery  time.Duration
	}{
		{"shed", run(600, load.Errors{Status: 300}, 5*time.Millisecond, 600, sec(600, 300, 5*time.Millisecond)),
			run(100, load.Errors{}, 5*time.Millisecond, 100, fast...), Shed, time.Second},
		{"queued", run(300, load.Errors{}, 800*time.Millisecond, 300, sec(300, 0, 800*time.Millisecond)),
			run(100, load.Errors{}, 5*time.Millisecond, 100, slowThenFast...), Queued, 2 * time.Second},
		{"not recovered", run(300, load.Errors{}, 800*time.Millisecond, 300, sec(300, 0, 800*time.Millisecond)),
			run(100, load.Errors{Timeout: 100}, 5*time.Millisecond, 0, sec(0, 50, 0), sec(0, 50, 0)), FellOver, 0},
		{"resets", run(600, load.Errors{Reset: 400}, 5*time.Millisecond, 200, sec(200, 400, 5*time.Millisecond)),
			run(100, load.Errors{}, 5*time.Millisecond, 100, fast...), FellOver, time.Second},
		// Twice the estimate served, in time: no overload at all.
		{"kept up", run(400, load.Errors{}, 5*time.Millisecond, 400, sec(200, 0, 5*time.Millisecond), sec(200, 0, 5*time.Millisecond)),
			run(100, load.Errors{}, 5*time.Millisecond, 100, fast...), KeptUp, time.Second},
		// Served nearly all, but late: queued.
		{"late", run(400, load.Errors{}, 300*time.Millisecond, 400, sec(200, 0, 300*time.Millisecond), sec(200, 0, 300*time.Millisecond)),
			run(100, load.Errors{}, 5*time.Millisecond, 100, fast...), Queued, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := judgeOverload(100, capacityConns, tc.over, tc.rec, o)
			if r.Outcome != tc.want || r.Recovery != tc.recovery {
				t.Errorf("outcome %q after %v, want %q after %v: %s", r.Outcome, r.Recovery, tc.want, tc.recovery, r.Detail)
			}
		})
	}
}

// reloadable is a Go stand-in for a server with a graceful reload: the
// version it serves changes only when Reload "imports" the app again.
type reloadable struct {
	fake
	mu            sync.Mutex // guards current, next, reloads
	current, next string
	reloads       int
	failReload    bool
}

func (r *reloadable) Reload(context.Context) (string, bool, error) {
	if r.failReload {
		return "", false, errors.New("no such signal")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current, r.reloads = r.next, r.reloads+1
	return "SIGHUP to the main process", true, nil
}

func (r *reloadable) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", handler())
	mux.HandleFunc("/probe/version", func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if v := req.URL.Query().Get("set"); v != "" {
			r.next = v
		}
		io.WriteString(w, r.current)
	})
	return mux
}

// The reload scenario records a new version, reloads mid-load and sees the
// new version served; a reload that fails says so.
func TestReloadScenario(t *testing.T) {
	for _, fail := range []bool{false, true} {
		r := &reloadable{current: "0", failReload: fail}
		srv := httptest.NewServer(r.handler())
		r.addr = srv.Listener.Addr().String()
		res := Run(context.Background(), r, only("reload"), quick)[0]
		srv.Close()
		t.Logf("fail=%v: %s", fail, res.Detail)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if fail {
			if !strings.Contains(res.Detail, "the reload failed: no such signal") {
				t.Errorf("detail %q does not say the reload failed", res.Detail)
			}
			continue
		}
		if r.reloads != 1 || !strings.Contains(res.Detail, "graceful reload by SIGHUP") ||
			!strings.Contains(res.Detail, fmt.Sprintf("by %d of %d requests", samples, samples)) {
			t.Errorf("reloads %d, detail %q; want one graceful reload with the new code served everywhere", r.reloads, res.Detail)
		}
		// The server is itself again after the reload: measured after too.
		if res.AfterRPS == 0 || !strings.Contains(res.Detail, " after)") {
			t.Errorf("after the reload: %.0f req/s, detail %q; want the victims measured alone after it", res.AfterRPS, res.Detail)
		}
	}
	// A server that cannot reload at all is an error of the scenario.
	srv := httptest.NewServer(handler())
	defer srv.Close()
	if res := Run(context.Background(), &fake{addr: srv.Listener.Addr().String()}, only("reload"), quick)[0]; res.Err == nil {
		t.Errorf("a server without Reload ran the scenario: %s", res.Detail)
	}
}

// respawning is a server whose worker processes come back (or not) at
// set times after the trouble.
type respawning struct {
	fake
	start time.Time
	steps []struct {
		at time.Duration
		n  int
	}
}

func (r *respawning) Workers() []int {
	n := 0
	for _, st := range r.steps {
		if time.Since(r.start) >= st.at {
			n = st.n
		}
	}
	return make([]int, n)
}

// restored waits for the worker count to be back, and no longer than
// restoreWait for a server left short.
func TestRestored(t *testing.T) {
	type step = struct {
		at time.Duration
		n  int
	}
	for _, c := range []struct {
		name  string
		steps []step
		want  int
	}{
		{"back at once", []step{{0, 3}}, 3},
		{"respawned later", []step{{0, 2}, {300 * time.Millisecond, 3}}, 3},
		{"more during a reload", []step{{0, 6}}, 6},
		{"left short", []step{{0, 2}}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &respawning{start: time.Now(), steps: c.steps}
			if got := restored(context.Background(), r, 3); got != c.want {
				t.Errorf("restored = %d, want %d", got, c.want)
			}
		})
	}
}

// search finds the least number of slow clients that takes the victims
// below half, over made-up servers.
func TestSearch(t *testing.T) {
	for _, want := range []int{1, 2, 3, 5, 64, 65, 200, MaxSlow, 0} {
		tried := 0
		got, err := search(context.Background(), func(n int) (float64, error) {
			tried++
			if want > 0 && n >= want {
				return 0.2, nil
			}
			return 0.9, nil
		})
		if err != nil || got != want {
			t.Errorf("threshold %d: got %d, %v", want, got, err)
		}
		if tried > 17 {
			t.Errorf("threshold %d: %d probes, want a doubling and a bisection", want, tried)
		}
	}
}

// A server that serves one connection at a time loses everything to one
// slow client: its threshold is its worker count, 1. One with a goroutine
// per connection keeps at least half with all the slow clients tried.
func TestSlowThreshold(t *testing.T) {
	r := Run(context.Background(), &fake{addr: serial(t)}, only("slow-threshold"), quick)[0]
	t.Logf("serial: %s", r.Detail)
	if r.Err != nil || r.Threshold != 1 {
		t.Errorf("serial server: threshold %d (%v), want 1", r.Threshold, r.Err)
	}
	concurrent := httptest.NewServer(handler())
	defer concurrent.Close()
	r = Run(context.Background(), &fake{addr: concurrent.Listener.Addr().String()}, only("slow-threshold"), quick)[0]
	t.Logf("concurrent: %s", r.Detail)
	if r.Err != nil || r.Threshold != 0 {
		t.Errorf("goroutine per connection: threshold %d (%v), want none up to %d", r.Threshold, r.Err, MaxSlow)
	}
	if s, ok := Score([]Result{r}); ok {
		t.Errorf("the threshold counted in the score (%.2f)", s)
	}
}

// Repeated runs keep the median, with the least and most kept as its
// spread; a run that could not run does not count unless none could.
func TestMedianOfRepeats(t *testing.T) {
	r := func(kept float64, err error) Result { return Result{Retained: kept, Err: err, Detail: "d"} }
	m := median([]Result{r(0.9, nil), r(0.2, nil), r(0.6, nil)})
	if m.Retained != 0.6 || m.RetainedLo != 0.2 || m.RetainedHi != 0.9 || m.Repeats != 3 {
		t.Errorf("median %+v, want 0.6 in [0.2, 0.9] of 3", m)
	}
	m = median([]Result{r(0, errors.New("x")), r(0.5, nil), r(0.7, nil)})
	if m.Retained != 0.5 || m.Err != nil || !strings.Contains(m.Detail, "1 could not run") {
		t.Errorf("median %+v: want the lower middle of those that ran, and the failure said", m)
	}
	if m = median([]Result{r(0, errors.New("x"))}); m.Err == nil {
		t.Error("a lone failure became a result")
	}
	concurrent := httptest.NewServer(handler())
	defer concurrent.Close()
	o := quick
	o.Repeat = 3
	f := &fake{addr: concurrent.Listener.Addr().String()}
	res := Run(context.Background(), f, only("hung-request"), o)
	if len(res) != 1 || res[0].Repeats != 3 || f.restarts != 2 {
		t.Errorf("%d results, %d repeats, %d restarts; want 1 result of 3 runs on fresh servers", len(res), res[0].Repeats, f.restarts)
	}
}

// TestObserveTheWindow: the observer sees exactly the trouble window: the
// requests counted between its start and its end are the victims' under
// the trouble, not the warm-up's or the baseline's.
func TestObserveTheWindow(t *testing.T) {
	var served atomic.Int64
	h := handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := quick
	var opened, closed int
	o.Observe = func(context.Context) func(context.Context) any {
		opened++
		at := served.Load()
		return func(context.Context) any {
			closed++
			return served.Load() - at
		}
	}
	r := Run(context.Background(), &fake{addr: srv.Listener.Addr().String()}, only("hung-request"), o)[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if opened != 1 || closed != 1 {
		t.Fatalf("window opened %d times, closed %d", opened, closed)
	}
	n, ok := r.Observed.(int64)
	// The victims' good requests under the trouble (TroubleRPS is over
	// the load's elapsed time, a little over the window when the machine
	// is busy), the ones in flight as the window closed, and the hung
	// request's own one; not the warm-up's and the baseline's, which are
	// as many again.
	under := int64(r.TroubleRPS * o.Window.Seconds())
	if !ok || n < under || n > under+under/20+10 {
		t.Errorf("observed %v requests in the window; the victims made %d good ones in it (%s)", r.Observed, under, r.Detail)
	}
}

// A budget plans with each scenario's cost and drops scenarios in
// DropOrder: every scenario states a cost and is named there once, and a
// server behind a cache keeps the reload and the overload longest.
func TestDropOrderAndCosts(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range DropOrder {
		if seen[id] {
			t.Errorf("%s is in DropOrder twice", id)
		}
		seen[id] = true
	}
	for _, sc := range Scenarios() {
		if !seen[sc.ID] {
			t.Errorf("%s is not in DropOrder", sc.ID)
		}
		if sc.Cost <= 0 {
			t.Errorf("%s states no cost", sc.ID)
		}
	}
	if n := len(DropOrder); n < 2 || DropOrder[n-1] != "reload" || DropOrder[n-2] != "overload" {
		t.Errorf("DropOrder %v: the reload, then the overload, are the last dropped", DropOrder)
	}
}
