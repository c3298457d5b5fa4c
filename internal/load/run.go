package load

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Config describes one load run.
type Config struct {
	Addr        string     // "127.0.0.1:8000" or "[::1]:8000"; loopback only
	Host        string     // Host header; default Addr
	Mix         []Template // at least one
	Connections int
	Duration    time.Duration
	Rate        float64       // total requests per second; 0 selects the closed model
	Pipeline    int           // requests in flight per connection; default 1
	Timeout     time.Duration // per request, and per connect; default 10s
	Seed        int64
	// Dial, when set, opens connection conn's TCP connections (conn counts
	// from 0; it is called again when the connection is re-opened) in place
	// of a plain dial with Timeout. Package trouble uses it to put each
	// victim connection on a chosen worker process of the server.
	Dial func(ctx context.Context, conn int) (net.Conn, error)
	// MaxBackoff caps the wait between failed dials, which otherwise
	// doubles from 10 ms to a second. A client that measures how long a
	// server was gone (package trouble's victims, across a restart) caps it
	// low, so the time it reads is the server's and not its own back-off's:
	// doubling, a server back 0.35 s after it went is seen again 0.63 s
	// after.
	MaxBackoff time.Duration
	// Shared, in the open model, keeps one schedule for the whole run
	// instead of one per connection: each send time is taken, oldest
	// first, by the next connection with nothing in flight, as a front
	// hands requests to its pool of backend connections. On a schedule of
	// its own (wrk2's, the default: independent clients) a connection the
	// server serves promptly stays in time while the others fall behind,
	// so under overload the share answered in time rewards a server for
	// serving some clients and starving the rest, by however much it
	// happened to favour some on that start. On a shared schedule the
	// share in time is the server's in-time throughput alone. It needs
	// Pipeline 1.
	Shared bool
}

// DefaultTimeout applies when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// lateAfter is how far behind its intended time a send may leave before it
// counts as late.
const lateAfter = time.Millisecond

// fdReserve is the file descriptors a run needs besides its connections.
const fdReserve = 64

// Errors counts failures by class. A request that fails is counted in exactly
// one class; Connect counts failed dials, which carry no request.
type Errors struct {
	Connect int64 // dial failed or was refused
	Reset   int64 // connection reset or closed before a complete response
	Timeout int64 // no complete response within Config.Timeout
	Status  int64 // response with a status outside 2xx to a request that names no expected status (also in Result.Requests)
	// Unexpected counts responses whose status the request's Expect list
	// does not hold (also in Result.Requests; by request in
	// Result.Unexpected).
	Unexpected int64
	Protocol   int64 // response that could not be parsed
	// ResetOnReuse counts non-idempotent requests (POST, PATCH) lost when
	// a server closed a kept-alive connection as they were sent. They are
	// not resent, since the server may have acted on them; an idempotent
	// request meeting the same race is resent (Result.IdleCloseRetries).
	ResetOnReuse int64
}

// Total is the number of errors of all classes.
func (e Errors) Total() int64 {
	return e.Connect + e.Reset + e.Timeout + e.Status + e.Unexpected + e.Protocol + e.ResetOnReuse
}

// Lost is the number of requests sent that got no response: every class
// but Connect (no request), Status and Unexpected (a response).
func (e Errors) Lost() int64 {
	return e.Reset + e.Timeout + e.Protocol + e.ResetOnReuse
}

func (e *Errors) add(o Errors) {
	e.Connect += o.Connect
	e.Reset += o.Reset
	e.Timeout += o.Timeout
	e.Status += o.Status
	e.Unexpected += o.Unexpected
	e.Protocol += o.Protocol
	e.ResetOnReuse += o.ResetOnReuse
}

// Second is one entry of the per-second timeline, by completion time.
type Second struct {
	Requests int64 // responses completed, any status
	Errors   int64 // errors of every class, Status included
	Status   int64 // responses outside 2xx (also in Errors)
	P99us    int64 // 99th percentile of corrected latency, µs; 0 when no response
}

// Result is what a run measured. Every request sent ends in exactly one of
// Requests, Errors.Reset, Errors.Timeout, Errors.Protocol,
// Errors.ResetOnReuse or Unfinished.
type Result struct {
	Requests          int64 // responses received (any status)
	Errors            Errors
	StatusCounts      map[int]int64
	ConnectionsOpened int64
	BytesRead         int64
	Elapsed           time.Duration

	// Latency runs from the intended send time (open model: the schedule, so
	// a stalled server is charged for the requests it kept waiting); for the
	// closed model it equals Uncorrected. Both are in microseconds.
	Latency     *hdrhistogram.Histogram
	Uncorrected *hdrhistogram.Histogram // from the actual send

	// Timeline has one entry per second of the run; the last may cover less
	// than a second.
	Timeline []Second

	TargetRate   float64 // Config.Rate; 0 for the closed model
	AchievedRate float64 // Requests per second of Elapsed
	LateSends    int64   // sends that left more than 1 ms after their intended time
	// GeneratorLate counts the late sends whose connection was free when
	// they fell due: nothing but the generator itself (a timer that fired
	// late, a goroutine not scheduled because another process had the CPU)
	// held them back. Many of them mean the generator was starved, and its
	// timing, corrected latency included, carries its own delays.
	GeneratorLate int64
	Sent          int64 // requests written (a resent request counts once)
	// IdleCloseRetries counts idempotent requests resent on a fresh
	// connection because the server closed the kept-alive one they were
	// written into before answering: the race between a keep-alive timeout
	// and the next request, which clients such as net/http and Varnish
	// absorb the same way. They are not errors; their latency includes
	// the reconnect.
	IdleCloseRetries int64
	Unfinished       int64 // requests still in flight when the run ended
	// Starved counts connections that sent requests but got no response
	// during the whole run, and OldestUnfinished is how long the oldest
	// request still in flight at the end had waited. A closed loop hides a
	// server that serves only some of its clients (one that ties each
	// thread to a keep-alive connection, say): the starved connections'
	// requests never complete, so they never reach the histograms. These
	// make that visible.
	Starved          int64
	OldestUnfinished time.Duration

	GeneratorCPU   time.Duration // user + system CPU of this process during the run
	CPUs           int           // CPUs in the process's affinity mask
	CPUAllotment   time.Duration // CPUs × the wall time GeneratorCPU was measured over
	GeneratorBound bool          // GeneratorCPU ≥ 90% of CPUAllotment
	// GeneratorWait is how long the generator's threads, together, waited
	// for a CPU that other processes held during the run (Linux schedstat).
	// Over a tenth of the wall time (GeneratorStarved) the generator's own
	// clock readings are late: it notices a response only when it runs
	// again, so latency and schedule lateness include its waits.
	GeneratorWait    time.Duration
	GeneratorStarved bool

	// Unexpected counts, by request name ("flow/step" for a flow's step)
	// and status, the responses counted in Errors.Unexpected.
	Unexpected map[string]map[int]int64
	// CaptureMisses counts, by "request variable", responses in which a
	// capture found nothing; the flow instance ended there.
	CaptureMisses map[string]int64
	Flows         FlowCounts

	Warnings []string
}

// FlowCounts counts flow instances: each started one either completed its
// last step, was aborted (a step failed, got a status it did not expect, or
// a capture found nothing), or was still running when the run ended.
type FlowCounts struct {
	Started   int64 `json:"started"`
	Completed int64 `json:"completed"`
	Aborted   int64 `json:"stopped_early"`
}

// boundFraction of the CPU allotment marks a run as limited by the generator.
const boundFraction = 0.9

// waitFraction of the wall time spent waiting for a CPU marks the generator
// as starved. Unhindered, its threads wait well under 1% of the time.
const waitFraction = 0.1

// starvedFraction of sends late through the generator's own fault (see
// Result.GeneratorLate) makes a run's timing suspect. A timer on a busy
// shared machine is late now and then; one send in twenty is more than that.
const starvedFraction = 0.05

// runner is the state shared by a run's connections.
type runner struct {
	cfg      Config
	mix      *mix
	start    time.Time
	timeout  int64   // ns
	end      int64   // ns since start: Config.Duration
	interval int64   // open model: ns between sends on one connection; 0 closed
	shared   bool    // Config.Shared: connections take send times from slot
	gap      float64 // Shared: ns between sends over the whole run
	slot     atomic.Int64
	pipeline int
	ctx      context.Context // canceled when the run stops
	stopping atomic.Bool
	seq      atomic.Int64
	dialer   net.Dialer
	conns    []*conn
	pacer    *pacer // open model only

	tlMu     sync.Mutex // guards timeline
	timeline []secAcc
}

type secAcc struct {
	requests, errors, status int64
	h                        *hdrhistogram.PackedHistogram
}

// now is the time since the run started, in ns.
func (r *runner) now() int64 { return int64(time.Since(r.start)) }

// CheckLoopback accepts only hosts on this machine: 127.0.0.0/8, ::1 and
// "localhost". wsgibench measures servers it runs itself.
func CheckLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("host %q is not a loopback address (want 127.0.0.0/8, ::1 or localhost)", host)
	}
	if !ip.Unmap().IsLoopback() {
		return fmt.Errorf("host %q is not a loopback address (want 127.0.0.0/8, ::1 or localhost)", host)
	}
	return nil
}

func (cfg *Config) normalize() error {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", cfg.Addr, err)
	}
	if err := CheckLoopback(host); err != nil {
		return err
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Addr
	}
	if cfg.Connections < 1 {
		return fmt.Errorf("need at least one connection, got %d", cfg.Connections)
	}
	if cfg.Duration <= 0 {
		return fmt.Errorf("duration must be positive, got %v", cfg.Duration)
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return fmt.Errorf("invalid rate %v", cfg.Rate)
	}
	if cfg.Rate > 0 && float64(cfg.Connections)*1e9/cfg.Rate < 1 {
		return fmt.Errorf("rate %v req/s over %d connections is too high", cfg.Rate, cfg.Connections)
	}
	if cfg.Pipeline == 0 {
		cfg.Pipeline = 1
	}
	if cfg.Pipeline < 1 || cfg.Pipeline > 1024 {
		return fmt.Errorf("pipeline depth %d out of range 1..1024", cfg.Pipeline)
	}
	if cfg.Shared && (cfg.Rate == 0 || cfg.Pipeline > 1) {
		return fmt.Errorf("a shared schedule needs the open model (a rate) and pipeline depth 1")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return fmt.Errorf("negative timeout %v", cfg.Timeout)
	}
	return nil
}

// Run generates load against cfg.Addr until cfg.Duration has passed or ctx
// is canceled, whichever comes first, and returns what it measured. It
// returns an error only for a configuration it cannot run; failures of the
// server are counted in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	m, err := compileMix(cfg.Mix, cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if m.flows && cfg.Pipeline > 1 {
		return nil, fmt.Errorf("load: a flow's steps wait for each other's responses: flows need pipeline depth 1, not %d", cfg.Pipeline)
	}
	if err := ensureFiles(cfg.Connections + fdReserve); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runner{
		cfg:      cfg,
		mix:      m,
		timeout:  int64(cfg.Timeout),
		end:      int64(cfg.Duration),
		pipeline: cfg.Pipeline,
		ctx:      runCtx,
		dialer:   net.Dialer{Timeout: cfg.Timeout},
	}
	n := cfg.Connections
	if cfg.Rate > 0 {
		r.interval = int64(float64(n) * 1e9 / cfg.Rate)
		r.shared, r.gap = cfg.Shared, 1e9/cfg.Rate
	}
	r.conns = make([]*conn, n)
	for i := range r.conns {
		r.conns[i] = newConn(r, i)
	}

	var wg sync.WaitGroup
	wait0 := runQueueWait()
	cpu0 := processCPU()
	r.start = time.Now()
	if r.interval > 0 {
		r.pacer = newPacer(r.start)
		defer r.pacer.close()
	}
	for _, c := range r.conns {
		wg.Go(c.run)
	}
	timer := time.NewTimer(cfg.Duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	wall := time.Since(r.start)
	cpu := processCPU() - cpu0
	wait := max(0, runQueueWait()-wait0)
	r.stop(cancel)
	wg.Wait()

	// The connections stop counting at Duration even when this goroutine
	// wakes late (it may queue behind thousands of runnable connections);
	// the CPU time was measured over the whole wall time.
	res := r.result(min(wall, cfg.Duration), wall, cpu)
	res.setWait(wait, wall)
	return res, nil
}

// setWait records the generator's run-queue wait and warns when it was
// starved of CPU.
func (res *Result) setWait(wait, wall time.Duration) {
	res.GeneratorWait = wait
	if wall > 0 && float64(wait) > waitFraction*float64(wall) {
		res.GeneratorStarved = true
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"generator_starved: the load generator's threads waited %.2fs in all for a CPU other processes held during the %.2fs run; its timing, latency included, carries those waits",
			wait.Seconds(), wall.Seconds()))
	}
}

// stop ends the run: it closes every connection, which wakes any goroutine
// blocked on it, and cancels dials and back-off waits.
func (r *runner) stop(cancel context.CancelFunc) {
	r.stopping.Store(true)
	cancel()
	for _, c := range r.conns {
		c.mu.Lock()
		c.stopped = true
		if c.nc != nil {
			c.nc.Close()
		}
		c.mu.Unlock()
	}
}

// addSecond merges one connection's tally for second s into the timeline.
func (r *runner) addSecond(s int64, requests, errs, status int64, h *hdrhistogram.PackedHistogram) {
	if s < 0 || s > 1<<20 {
		return
	}
	r.tlMu.Lock()
	defer r.tlMu.Unlock()
	for int64(len(r.timeline)) <= s {
		r.timeline = append(r.timeline, secAcc{})
	}
	a := &r.timeline[s]
	a.requests += requests
	a.errors += errs
	a.status += status
	if h.TotalCount() > 0 {
		if a.h == nil {
			a.h = newTimelinePacked()
		}
		a.h.Merge(h)
	}
}

// newTimelinePacked is the geometry of the per-second histograms: two
// significant figures are plenty for a timeline's p99.
func newTimelinePacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(histLowest, histHighest, 2)
}

func (r *runner) result(elapsed, wall, cpu time.Duration) *Result {
	open := r.interval > 0
	res := &Result{
		StatusCounts: map[int]int64{},
		Elapsed:      elapsed,
		Latency:      NewHistogram(),
		TargetRate:   r.cfg.Rate,
		GeneratorCPU: cpu,
		CPUs:         allowedCPUs(),
	}
	if open {
		res.Uncorrected = NewHistogram()
	}
	for _, c := range r.conns {
		res.Requests += c.requests
		res.Errors.add(c.errs)
		res.ConnectionsOpened += c.opened
		res.BytesRead += c.bytes
		res.LateSends += c.late
		res.GeneratorLate += c.lateFree
		res.Sent += c.sent
		res.IdleCloseRetries += c.idleRetries
		res.Unfinished += c.unfinished
		if c.sent > 0 && c.requests == 0 {
			res.Starved++
		}
		res.OldestUnfinished = max(res.OldestUnfinished, time.Duration(c.oldestWait))
		for _, sc := range c.status {
			res.StatusCounts[sc.code] += sc.n
		}
		for name, byStatus := range c.unexp {
			if res.Unexpected == nil {
				res.Unexpected = map[string]map[int]int64{}
			}
			if res.Unexpected[name] == nil {
				res.Unexpected[name] = map[int]int64{}
			}
			for code, n := range byStatus {
				res.Unexpected[name][code] += n
			}
		}
		for k, n := range c.capMiss {
			if res.CaptureMisses == nil {
				res.CaptureMisses = map[string]int64{}
			}
			res.CaptureMisses[k] += n
		}
		res.Flows.Started += c.flowsN.Started
		res.Flows.Completed += c.flowsN.Completed
		res.Flows.Aborted += c.flowsN.Aborted
		c.lat.MergeInto(res.Latency)
		if open {
			c.unc.MergeInto(res.Uncorrected)
		}
	}
	if !open {
		res.Uncorrected = res.Latency.Clone()
	}
	for _, a := range r.timeline {
		s := Second{Requests: a.requests, Errors: a.errors, Status: a.status}
		if a.h != nil {
			s.P99us = a.h.ValueAtPercentile(99)
		}
		res.Timeline = append(res.Timeline, s)
	}
	if secs := elapsed.Seconds(); secs > 0 {
		res.AchievedRate = float64(res.Requests) / secs
	}

	if open && res.AchievedRate < 0.99*res.TargetRate {
		w := fmt.Sprintf("achieved %.0f req/s, %.1f%% short of the target %.0f req/s",
			res.AchievedRate, 100*(1-res.AchievedRate/res.TargetRate), res.TargetRate)
		if res.Sent > 0 && res.LateSends*100 > res.Sent {
			w += fmt.Sprintf(" (%d of %d sends were late: the server is saturated, or add connections or pipelining)", res.LateSends, res.Sent)
		}
		res.Warnings = append(res.Warnings, w)
	}
	if open && res.Sent > 0 && float64(res.GeneratorLate) > starvedFraction*float64(res.Sent) {
		// A server that closes its connections makes the generator open
		// one per request, and connecting costs it several times the CPU
		// of a request on a kept-alive connection: that, more often than
		// another process, is what it was short of.
		why := "is another process competing for it?"
		if res.ConnectionsOpened*2 > res.Sent {
			why = fmt.Sprintf("it opened %d connections for %d sends, as the server closed them, and each connect costs it more than a request on a kept-alive one; or another process competed for it", res.ConnectionsOpened, res.Sent)
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"generator_late: %d of %d sends left over %v behind schedule with a connection free: the load generator was short of CPU (%s), and latency may include its own delays",
			res.GeneratorLate, res.Sent, lateAfter, why))
	}
	if res.IdleCloseRetries > 0 && res.IdleCloseRetries*100 > res.Requests {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"idle_close_retries: %d requests met a kept-alive connection the server had just closed and were resent on a fresh one, as HTTP clients do; a server that closes idle connections sooner than its clients send costs them a reconnect",
			res.IdleCloseRetries))
	}
	if res.Errors.Unexpected > 0 {
		res.Warnings = append(res.Warnings, "unexpected_status: "+describeUnexpected(res.Unexpected))
	}
	if len(res.CaptureMisses) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(res.CaptureMisses)) {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, res.CaptureMisses[k]))
		}
		res.Warnings = append(res.Warnings, "capture_missed: a capture found nothing in the response, and its flow stopped there: "+strings.Join(parts, ", "))
	}
	if res.Starved > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"%d of %d connections got no response in %.1fs: the server served fewer clients at once than were offered and left the rest waiting",
			res.Starved, len(r.conns), elapsed.Seconds()))
	} else if res.OldestUnfinished > time.Second && res.OldestUnfinished > elapsed/4 {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"a request was still unanswered after %.1fs when the run ended: the percentiles leave it out", res.OldestUnfinished.Seconds()))
	}
	allot := time.Duration(res.CPUs) * wall
	res.CPUAllotment = allot
	if allot > 0 && float64(cpu) >= boundFraction*float64(allot) {
		res.GeneratorBound = true
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"generator_bound: the load generator used %.0f%% of its CPU allotment (%.2fs of %d CPU × %.2fs); the numbers may measure the generator, not the server",
			100*float64(cpu)/float64(allot), cpu.Seconds(), res.CPUs, wall.Seconds()))
	}
	return res
}

// describeUnexpected lists unexpected statuses by request: "read: 404 ×3".
func describeUnexpected(u map[string]map[int]int64) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(u)) {
		for _, code := range slices.Sorted(maps.Keys(u[name])) {
			parts = append(parts, fmt.Sprintf("%s: %d ×%d", name, code, u[name][code]))
		}
	}
	return strings.Join(parts, ", ")
}
