package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/scenario"
	"github.com/wsgibench/wsgibench/internal/workload"
)

const loadUsage = `usage: wsgibench load [flags] http://127.0.0.1:PORT/path

Generates HTTP/1.1 load against a server on this machine, like wrk (closed
model) or wrk2 (open model with -R). Path and body may hold variables:
{rand:LO:HI} is a random integer in [LO, HI], {seq} counts requests,
{choice:a|b|c} picks one. With --scenario FILE the requests and flows come
from a scenario file (see 'wsgibench scenario --example') and the URL gives
only the server: every request is tried once first, and a status it does not
expect stops the run before anything is measured.

flags:
`

// cmdLoad is the "load" subcommand.
func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSetUsage("load", loadUsage, stderr)
	var (
		conns    = fs.String("c", "10", "connections (10, 1k, ...)")
		duration = fs.String("d", "10s", "duration (10s, 2m, or seconds)")
		rate     = fs.String("R", "0", "total request rate per second for the open model (1k, ...); 0 = closed model")
		method   = fs.String("m", "", "request method (default GET, or POST with --body)")
		body     = fs.String("body", "", "request body")
		pipeline = fs.Int("pipeline", 1, "requests in flight per connection")
		timeout  = fs.Duration("timeout", load.DefaultTimeout, "per-request timeout")
		cpuList  = fs.String("cpu", "", "pin the generator to these CPUs (0,2-3)")
		threads  = fs.Int("t", 0, "threads: GOMAXPROCS (default: CPUs allowed)")
		seed     = fs.Int64("seed", 1, "seed for template variables")
		asJSON   = fs.Bool("json", false, "print the result as JSON")
		scenFile = fs.String("scenario", "", "send the requests and flows of this scenario file instead of the URL's path")
		headers  loadHeaders
	)
	fs.Var(&headers, "H", `request header "Name: value" (repeatable)`)
	fs.Bool("latency", true, "accepted for wrk compatibility; the latency spectrum is always shown")

	// Flags may come before or after the URL, as with wrk.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return errUsageShown // the flag package has said what is wrong
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		return fmt.Errorf("load: want one URL, got %d arguments (see wsgibench load -h)", len(positional))
	}

	target, err := parseLoadURL(positional[0])
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	c, err := parseMetric(*conns)
	if err != nil || c < 1 || c != float64(int(c)) {
		return fmt.Errorf("load: -c %q: want a positive whole number of connections", *conns)
	}
	d, err := parseLoadDuration(*duration)
	if err != nil {
		return fmt.Errorf("load: -d %q: %w", *duration, err)
	}
	r, err := parseMetric(*rate)
	if err != nil || r < 0 {
		return fmt.Errorf("load: -R %q: want a non-negative rate", *rate)
	}
	if *timeout <= 0 {
		return fmt.Errorf("load: --timeout %v: want a positive duration", *timeout)
	}
	m := *method
	if m == "" {
		m = "GET"
		if *body != "" {
			m = "POST"
		}
	}
	if *cpuList != "" {
		cpus, err := load.ParseCPUList(*cpuList)
		if err != nil {
			return fmt.Errorf("load: --cpu: %w", err)
		}
		if err := load.PinSelf(cpus); err != nil {
			return fmt.Errorf("load: --cpu: %w", err)
		}
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}

	mix := []load.Template{{
		Method: m,
		Path:   target.path,
		Header: headers,
		Body:   *body,
	}}
	var scen *scenario.Scenario
	if *scenFile != "" {
		if *method != "" || *body != "" || len(headers) > 0 || target.path != "/" {
			return fmt.Errorf("load: --scenario gives the requests: give the URL without a path, and no -m, -H or --body")
		}
		w, err := workload.FromFile(*scenFile)
		if err != nil {
			return err
		}
		mix, scen = w.Mix, w.Scenario
	}
	cfg := load.Config{
		Addr:        target.addr,
		Host:        target.host,
		Mix:         mix,
		Connections: int(c),
		Duration:    d,
		Rate:        r,
		Pipeline:    *pipeline,
		Timeout:     *timeout,
		Seed:        *seed,
	}
	if scen != nil {
		if err := load.Preflight(ctx, cfg); err != nil {
			return err
		}
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		rep := newLoadReport(positional[0], cfg, res)
		if scen != nil {
			rep.Scenario = &loadScenario{Name: scen.Name, File: scen.File, Source: scen.Source}
		}
		return enc.Encode(rep)
	}
	printLoadResult(stdout, positional[0], cfg, res)
	return nil
}

// loadHeaders collects repeated -H flags.
type loadHeaders []string

func (h *loadHeaders) String() string { return strings.Join(*h, ", ") }

func (h *loadHeaders) Set(v string) error {
	if name, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q: want \"Name: value\"", v)
	}
	*h = append(*h, v)
	return nil
}

type loadTarget struct {
	addr string // dial address
	host string // Host header
	path string // request target, variables unexpanded
}

// parseLoadURL accepts only http:// URLs to loopback hosts. The path is
// taken verbatim so template variables are not percent-encoded.
func parseLoadURL(s string) (loadTarget, error) {
	rest, ok := strings.CutPrefix(s, "http://")
	if !ok {
		if strings.HasPrefix(s, "https://") {
			return loadTarget{}, fmt.Errorf("%q: only http:// URLs are supported", s)
		}
		return loadTarget{}, fmt.Errorf("%q: want an http:// URL", s)
	}
	authority, path := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, path = rest[:i], rest[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	u, err := url.Parse("http://" + authority)
	if err != nil || u.User != nil || u.Host == "" {
		return loadTarget{}, fmt.Errorf("%q: bad host", s)
	}
	hostname, port := u.Hostname(), u.Port()
	if err := load.CheckLoopback(hostname); err != nil {
		return loadTarget{}, fmt.Errorf("%q: %w", s, err)
	}
	if port == "" {
		port = "80"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return loadTarget{}, fmt.Errorf("%q: bad port %q", s, port)
	}
	dialHost := hostname
	if hostname == "localhost" {
		dialHost = "127.0.0.1" // what a server bound to "localhost" listens on, without a resolver
	}
	return loadTarget{addr: net.JoinHostPort(dialHost, port), host: u.Host, path: path}, nil
}

// parseMetric parses a number with an optional k, M or G suffix (powers of
// 1000), as wrk does.
func parseMetric(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return v * mult, nil
}

// parseLoadDuration takes a Go duration ("1m30s") or, as wrk does, a bare
// number of seconds.
func parseLoadDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, err2 := strconv.ParseFloat(s, 64)
		if err2 != nil {
			return 0, errors.New("want a duration such as 10s or 2m")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, errors.New("want a positive duration")
	}
	return d, nil
}

// loadPercentiles are the points of the latency spectrum shown.
var loadPercentiles = []struct {
	name string
	q    float64
}{{"p50", 50}, {"p75", 75}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}}

func printLoadResult(w io.Writer, rawURL string, cfg load.Config, res *load.Result) {
	model := "closed model"
	if cfg.Rate > 0 {
		model = fmt.Sprintf("open model at %s req/s", fmtRate(cfg.Rate))
	}
	if cfg.Pipeline > 1 {
		model += fmt.Sprintf(", pipeline %d", cfg.Pipeline)
	}
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(w, "%s for %.2fs, %d connections, %s\n", rawURL, secs, cfg.Connections, model)
	fmt.Fprintf(w, "  requests     %d (%s req/s), read %s (%s/s)\n",
		res.Requests, fmtRate(res.AchievedRate), fmtBytes(float64(res.BytesRead)), fmtBytes(float64(res.BytesRead)/max(secs, 1e-9)))

	fmt.Fprintf(w, "  latency     ")
	for _, p := range loadPercentiles {
		fmt.Fprintf(w, " %9s", p.name)
	}
	fmt.Fprintf(w, " %9s\n", "max")
	row := func(name string, h *hdrhistogram.Histogram) {
		fmt.Fprintf(w, "   %-11s", name)
		for _, p := range loadPercentiles {
			fmt.Fprintf(w, " %9s", fmtMicros(h.ValueAtPercentile(p.q), h.TotalCount()))
		}
		fmt.Fprintf(w, " %9s\n", fmtMicros(h.Max(), h.TotalCount()))
	}
	if cfg.Rate > 0 {
		row("corrected", res.Latency)
		row("uncorrected", res.Uncorrected)
	} else {
		row("", res.Latency)
	}

	if len(res.StatusCounts) > 0 {
		codes := make([]int, 0, len(res.StatusCounts))
		for code := range res.StatusCounts {
			codes = append(codes, code)
		}
		sort.Ints(codes)
		fmt.Fprintf(w, "  status      ")
		for _, code := range codes {
			fmt.Fprintf(w, " %d: %d", code, res.StatusCounts[code])
		}
		fmt.Fprintln(w)
	}
	e := res.Errors
	fmt.Fprintf(w, "  errors       %d (connect %d, reset %d, timeout %d, status %d, unexpected status %d, protocol %d, reset on reuse %d)\n",
		e.Total(), e.Connect, e.Reset, e.Timeout, e.Status, e.Unexpected, e.Protocol, e.ResetOnReuse)
	if f := res.Flows; f.Started > 0 {
		fmt.Fprintf(w, "  flows        %d started, %d completed, %d stopped early\n", f.Started, f.Completed, f.Aborted)
	}
	fmt.Fprintf(w, "  connections  %d opened", res.ConnectionsOpened)
	if res.IdleCloseRetries > 0 {
		fmt.Fprintf(w, ", %d requests resent after the server closed a kept-alive connection", res.IdleCloseRetries)
	}
	fmt.Fprintln(w)
	if cfg.Rate > 0 {
		fmt.Fprintf(w, "  schedule     target %s req/s, achieved %s req/s, %d late sends of %d (%d of them the generator's own delay)\n",
			fmtRate(res.TargetRate), fmtRate(res.AchievedRate), res.LateSends, res.Sent, res.GeneratorLate)
	}
	allot := res.CPUAllotment
	pct := 0.0
	if allot > 0 {
		pct = 100 * float64(res.GeneratorCPU) / float64(allot)
	}
	fmt.Fprintf(w, "  generator    CPU %.2fs of %.2fs allotted (%.0f%%, %d CPUs)",
		res.GeneratorCPU.Seconds(), allot.Seconds(), pct, res.CPUs)
	if res.Requests > 0 {
		fmt.Fprintf(w, ", %.1fµs per request", float64(res.GeneratorCPU.Microseconds())/float64(res.Requests))
	}
	fmt.Fprintln(w)
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

func fmtMicros(us, count int64) string {
	switch {
	case count == 0:
		return "-"
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us < 1_000_000:
		return fmt.Sprintf("%.2fms", float64(us)/1e3)
	default:
		return fmt.Sprintf("%.2fs", float64(us)/1e6)
	}
}

func fmtRate(r float64) string {
	if r >= 100 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.2f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.2f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.2f kB", b/1e3)
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// loadReport is the JSON form of a result. Histograms travel in the
// HdrHistogram V2 compressed base64 encoding, so trials can be merged later
// (hdrhistogram.Decode).
type loadReport struct {
	URL               string        `json:"url"`
	Connections       int           `json:"connections"`
	Model             string        `json:"model"`
	Pipeline          int           `json:"pipeline"`
	TargetRate        float64       `json:"target_rate"`
	AchievedRate      float64       `json:"achieved_rate"`
	ElapsedSeconds    float64       `json:"elapsed_seconds"`
	Requests          int64         `json:"requests"`
	Sent              int64         `json:"sent"`
	Unfinished        int64         `json:"unfinished"`
	LateSends         int64         `json:"late_sends"`
	GeneratorLate     int64         `json:"generator_late_sends"`
	IdleCloseRetries  int64         `json:"idle_close_retries"`
	Errors            loadErrors    `json:"errors"`
	StatusCounts      map[int]int64 `json:"status_counts"`
	ConnectionsOpened int64         `json:"connections_opened"`
	BytesRead         int64         `json:"bytes_read"`
	Latency           loadLatency   `json:"latency"`
	Uncorrected       loadLatency   `json:"uncorrected"`
	Timeline          []loadSecond  `json:"timeline"`
	GeneratorCPU      float64       `json:"generator_cpu_seconds"`
	CPUs              int           `json:"cpus"`
	CPUAllotment      float64       `json:"cpu_allotment_seconds"`
	GeneratorBound    bool          `json:"generator_bound"`
	GeneratorWait     float64       `json:"generator_wait_seconds"`
	GeneratorStarved  bool          `json:"generator_starved"`
	// By request name, then status: responses the scenario did not expect.
	UnexpectedByRequest map[string]map[int]int64 `json:"unexpected_by_request,omitempty"`
	CaptureMisses       map[string]int64         `json:"capture_misses,omitempty"`
	Flows               *load.FlowCounts         `json:"flows,omitempty"`
	Scenario            *loadScenario            `json:"scenario,omitempty"`
	Warnings            []string                 `json:"warnings"`
}

// loadScenario records the scenario file as run.
type loadScenario struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Source string `json:"source"`
}

type loadErrors struct {
	Connect int64 `json:"connect"`
	Reset   int64 `json:"reset"`
	Timeout int64 `json:"timeout"`
	Status  int64 `json:"status"`
	// Unexpected: responses whose status the scenario did not expect.
	Unexpected int64 `json:"unexpected_status"`
	Protocol   int64 `json:"protocol"`
	// ResetOnReuse: non-idempotent requests lost to a keep-alive close race.
	ResetOnReuse int64 `json:"reset_on_reuse"`
}

type loadLatency struct {
	Count     int64            `json:"count"`
	MeanUs    float64          `json:"mean_us"`
	MaxUs     int64            `json:"max_us"`
	Quantiles map[string]int64 `json:"percentiles_us"`
	Histogram string           `json:"hdr_histogram"`
}

type loadSecond struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	Status   int64 `json:"non_2xx"`
	P99us    int64 `json:"p99_us"`
}

func newLoadLatency(h *hdrhistogram.Histogram) loadLatency {
	l := loadLatency{Count: h.TotalCount(), Quantiles: map[string]int64{}}
	if l.Count > 0 {
		l.MeanUs, l.MaxUs = h.Mean(), h.Max()
		for _, p := range loadPercentiles {
			l.Quantiles[p.name] = h.ValueAtPercentile(p.q)
		}
	}
	if enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		l.Histogram = string(enc)
	}
	return l
}

func newLoadReport(rawURL string, cfg load.Config, res *load.Result) loadReport {
	model := "closed"
	if cfg.Rate > 0 {
		model = "open"
	}
	rep := loadReport{
		URL:               rawURL,
		Connections:       cfg.Connections,
		Model:             model,
		Pipeline:          max(cfg.Pipeline, 1),
		TargetRate:        res.TargetRate,
		AchievedRate:      res.AchievedRate,
		ElapsedSeconds:    res.Elapsed.Seconds(),
		Requests:          res.Requests,
		Sent:              res.Sent,
		Unfinished:        res.Unfinished,
		LateSends:         res.LateSends,
		GeneratorLate:     res.GeneratorLate,
		IdleCloseRetries:  res.IdleCloseRetries,
		Errors:            loadErrors(res.Errors),
		StatusCounts:      res.StatusCounts,
		ConnectionsOpened: res.ConnectionsOpened,
		BytesRead:         res.BytesRead,
		Latency:           newLoadLatency(res.Latency),
		Uncorrected:       newLoadLatency(res.Uncorrected),
		GeneratorCPU:      res.GeneratorCPU.Seconds(),
		CPUs:              res.CPUs,
		CPUAllotment:      res.CPUAllotment.Seconds(),
		GeneratorBound:    res.GeneratorBound,
		GeneratorWait:     res.GeneratorWait.Seconds(),
		GeneratorStarved:  res.GeneratorStarved,
		Warnings:          res.Warnings,
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	rep.UnexpectedByRequest, rep.CaptureMisses = res.Unexpected, res.CaptureMisses
	if res.Flows.Started > 0 {
		f := res.Flows
		rep.Flows = &f
	}
	for _, s := range res.Timeline {
		rep.Timeline = append(rep.Timeline, loadSecond{Requests: s.Requests, Errors: s.Errors, Status: s.Status, P99us: s.P99us})
	}
	return rep
}
