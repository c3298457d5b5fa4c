// Package results is the on-disk record of a wsgibench run: the boundary
// between running and reporting. Everything a report shows is derived from
// this file alone, so reports re-render without re-running and two runs can
// be compared later.
//
// The file is rewritten atomically after every finished trial, so an
// interrupted run loses nothing that finished.
package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Schema names this format; readers refuse others.
const Schema = "wsgibench/v1"

// File is a whole results file.
type File struct {
	Schema   string    `json:"schema"`
	Tool     string    `json:"tool"` // wsgibench version that wrote it
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Complete bool      `json:"complete"` // false while running, or when interrupted
	Machine  Machine   `json:"machine"`
	Python   Python    `json:"python"`
	Plan     Plan      `json:"plan"`
	// Database is where the bundled app kept its data (absent with --app,
	// and in files written before it was recorded).
	Database *Database `json:"database,omitempty"`
	Runs     []Run     `json:"runs"`
	// Conformance holds the HTTP/1.1 and PEP 3333 probes' verdicts, one
	// entry per server probed (package probe).
	Conformance []Conformance `json:"conformance,omitempty"`
	// Robustness holds the trouble scenarios' results, one entry per
	// server (package trouble).
	Robustness []Robustness `json:"robustness,omitempty"`
	// Check is the app portability check (package check), when it ran.
	Check    *Check   `json:"check,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Target, Ceilings and ProjectionChecks: the machine the verdict is
	// for and what carries the measurements there (see machine.go).
	Target           *Target           `json:"target,omitempty"`
	Ceilings         []Ceiling         `json:"ceilings,omitempty"`
	ProjectionChecks []ProjectionCheck `json:"projection_checks,omitempty"`
	// Verdict and Ranking answer "which server should I run my app on",
	// derived from Runs by package rank; reports render them as stored.
	Verdict *Verdict `json:"verdict,omitempty"`
	Ranking []Rank   `json:"ranking,omitempty"`
	// NotMeasured lists what the plan skipped on purpose (racing measures
	// capacity and trouble for contenders only), with why.
	NotMeasured []NotMeasured `json:"not_measured,omitempty"`
	// Request is the options the run was asked with, as the runner
	// records them so that an interrupted run can be resumed with the
	// same plan (wsgibench run --resume); reports do not read it.
	Request json.RawMessage `json:"request,omitempty"`
	// Resumed lists when an interrupted run was continued.
	Resumed []time.Time `json:"resumed,omitempty"`
}

// Conformance is how one server fared in the conformance probes: the
// correctness evidence the ranking's correctness metric reads.
type Conformance struct {
	Server string `json:"server"`
	// Front is the proxy the probes went through, when they did: each
	// case then says what the front did with it (ProbeCase.Passage), and
	// the outcomes are what a client of the front saw.
	Front   string      `json:"front,omitempty"`
	Version string      `json:"version"`
	Shape   Shape       `json:"shape"`
	Cases   []ProbeCase `json:"cases"`
	Pass    int         `json:"pass"`
	Warn    int         `json:"warn"`
	Fail    int         `json:"fail"`
	Error   int         `json:"error"` // cases that could not run
	// Score is (pass + warn/2) / (pass + warn + fail), 0-1.
	Score float64 `json:"score"`
	// Failed is why the server could not be probed at all.
	Failed string `json:"failed,omitempty"`
	// Behind a front: how many cases it blocked, normalised and passed
	// on unchanged (see ProbeCase.Passage).
	Blocked    int `json:"blocked,omitempty"`
	Normalised int `json:"normalised,omitempty"`
	Passed     int `json:"passed,omitempty"`
}

// Robustness is how one server's ordinary clients fared while trouble was
// made: the evidence the ranking's robustness metric reads.
type Robustness struct {
	Server string `json:"server"`
	// Front is the proxy the scenarios ran through, when they did: its
	// clients, slow or not, reached the server only through it.
	Front     string        `json:"front,omitempty"`
	Version   string        `json:"version"`
	Shape     Shape         `json:"shape"`
	Scenarios []TroubleCase `json:"scenarios"`
	// Score is the mean of the scenarios' retained shares, 0-1.
	Score float64 `json:"score"`
	// Failed is why the server could not be tried at all.
	Failed string `json:"failed,omitempty"`
}

// TroubleCase is one scenario on one server: the victims' throughput
// alone and under the trouble, and what share of it they kept.
type TroubleCase struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// BaselineRPS is the victims' rate alone: before the trouble, and
	// after it too when AfterRPS is set (weighted by time).
	BaselineRPS float64 `json:"baseline_rps"`
	BeforeRPS   float64 `json:"before_rps,omitempty"`
	AfterRPS    float64 `json:"after_rps,omitempty"` // for scenarios whose trouble lifts; 0 when not used
	TroubleRPS  float64 `json:"trouble_rps"`
	Retained    float64 `json:"retained"` // TroubleRPS / BaselineRPS, at most 1
	Errors      int64   `json:"errors"`   // victims' failed requests during the trouble
	P99MS       float64 `json:"p99_ms"`   // victims' p99 during the trouble
	// MaxMS is the longest a victim's request waited during the trouble.
	MaxMS     float64 `json:"max_ms,omitempty"`
	Recovered bool    `json:"recovered"`
	Detail    string  `json:"detail"`
	Error     string  `json:"error,omitempty"` // the scenario could not run
	// Outcome (overload only): "shed", "queued" or "fell over"; RecoveryS
	// is how long after the overload the p99 was back under the goal
	// (whole seconds, an upper bound; set when Recovered).
	Outcome string `json:"outcome,omitempty"`
	// RetainedLo and RetainedHi are the least and most kept in any whole
	// second of the window: the spread behind Retained.
	// Threshold (slow-threshold only) is the fewest slow clients that took
	// the victims below half their throughput, 0 when none up to
	// ThresholdMax did. Unscored scenarios are not in Robustness.Score.
	Threshold    int  `json:"threshold,omitempty"`
	ThresholdMax int  `json:"threshold_max,omitempty"`
	Unscored     bool `json:"unscored,omitempty"`
	// Repeats is how many runs Retained is the median of, when more than
	// one; RetainedLo and RetainedHi are then the least and most kept
	// over them.
	Repeats    int     `json:"repeats,omitempty"`
	RetainedLo float64 `json:"retained_lo,omitempty"`
	RetainedHi float64 `json:"retained_hi,omitempty"`
	RecoveryS  float64 `json:"recovery_s,omitempty"`
	// Seconds is the wall time the scenario took, every run of it with
	// the server's restart before each.
	Seconds float64 `json:"seconds,omitempty"`
	// Front is, behind a front, its counters and CPU over the trouble
	// window: what it passed on to the server, what it answered itself
	// (Varnish's 503s, nginx's 502/504) while the trouble was on.
	Front *Front `json:"front,omitempty"`
}

// ProbeCase is one probe's verdict on one server.
type ProbeCase struct {
	ID      string `json:"id"`
	Group   string `json:"group"` // http, smuggling, wsgi
	Title   string `json:"title"`
	Ref     string `json:"ref"`
	Outcome string `json:"outcome"` // pass, warn, fail, error
	Detail  string `json:"detail"`
	// Behind a front: "blocked" (the front answered it and passed nothing
	// on), "normalised" (passed on, and the verdict differs from the
	// server's direct one: Direct), or "passed" (passed on, same verdict).
	// Empty directly, or when the front's counters could not be read.
	Passage string `json:"passage,omitempty"`
	// Forwarded is how many requests the front passed on during the case.
	Forwarded *int64 `json:"forwarded,omitempty"`
	// Direct is the outcome of the same case sent to the server directly,
	// when the front changed it.
	Direct string `json:"direct,omitempty"`
}

// Machine describes where the numbers were measured.
type Machine struct {
	Hostname      string `json:"hostname"`
	OS            string `json:"os"`
	Kernel        string `json:"kernel"`
	Arch          string `json:"arch"`
	CPUModel      string `json:"cpu_model"`
	CPUs          int    `json:"cpus"`
	MemoryBytes   int64  `json:"memory_bytes"`
	ServerCPUs    []int  `json:"server_cpus"`
	GeneratorCPUs []int  `json:"generator_cpus"`
	// SharedCPUs is true when server and generator could not be pinned
	// apart and compete for the same CPUs.
	SharedCPUs bool `json:"shared_cpus"`
}

// Database is what the bundled app's data lived in during the trials.
type Database struct {
	Kind    string `json:"kind"`              // sqlite or postgres
	Version string `json:"version,omitempty"` // the server's, for postgres
	// Private is a throwaway cluster wsgibench started (else the user's
	// server, reached by DSN).
	Private bool   `json:"private,omitempty"`
	DSN     string `json:"dsn,omitempty"`    // what the app connected to, password redacted
	Driver  string `json:"driver,omitempty"` // the Python driver: "psycopg 3.1.7"
	// Settings are a private cluster's non-default parameters (fsync=off
	// and the like: durability traded for speed, as a benchmark may).
	Settings []string `json:"settings,omitempty"`
	CPUs     []int    `json:"cpus,omitempty"` // a private cluster pinned to these (the server's); none = unpinned
	// Reset says how each server start got the seeded data afresh.
	Reset string `json:"reset"`
	// SetupSeconds is the one-off cost of starting and seeding it.
	SetupSeconds float64 `json:"setup_seconds,omitempty"`
	// AddedRTT is what a delay proxy (toxiproxy, on loopback, inside
	// wsgibench) added to each of the app's round trips (--db-latency).
	AddedRTT Duration `json:"added_rtt,omitempty"`
}

// Python is the interpreter the app ran in.
type Python struct {
	Executable string `json:"executable"`
	Version    string `json:"version"`
	Prefix     string `json:"prefix"`
	Venv       bool   `json:"venv"`
}

// Plan records the settings the run used.
type Plan struct {
	App         string   `json:"app"`
	AppDir      string   `json:"app_dir,omitempty"`
	Bundled     bool     `json:"bundled_app"`
	Workloads   []string `json:"workloads"`
	Connections int      `json:"connections"`
	Rate        float64  `json:"rate,omitempty"` // open model target, 0 = closed
	Duration    Duration `json:"duration"`
	Warmup      Duration `json:"warmup"`
	Trials      int      `json:"trials"`
	Seed        int64    `json:"seed"`
	Order       []string `json:"order,omitempty"` // the order trials ran in: run index/trial
	// Racing, when set, is how trials were raced (Trials is then the most
	// a cell could get); nil for an exhaustive plan (--no-racing), where
	// every cell got Trials.
	Racing *Racing `json:"racing,omitempty"`
	// Scenarios are the scenario files among the workloads, as run.
	Scenarios []Scenario `json:"scenarios,omitempty"`
	AsRun     *AsRun     `json:"as_run,omitempty"`
}

// Scenario is a scenario file as it was run: its text, so the run can be
// reviewed and repeated.
type Scenario struct {
	Name   string `json:"name"`
	File   string `json:"file"` // crud.yaml (embedded) for the bundled one
	Source string `json:"source"`
}

// FlowCounts counts flow instances of a scenario: each started one
// completed, stopped early (a step failed, got a status it did not expect,
// or a capture found nothing), or was still running at the end.
type FlowCounts struct {
	Started   int64 `json:"started"`
	Completed int64 `json:"completed"`
	Aborted   int64 `json:"stopped_early"`
}

// Duration is a time.Duration that reads and writes as "10s".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q is not a Go duration such as \"10s\"", oneLine(s, 40))
	}
	*d = Duration(v)
	return nil
}

// Shape is processes × threads; Threads 0 means a thread per connection.
type Shape struct {
	Workers int `json:"workers"`
	Threads int `json:"threads"`
}

func (s Shape) String() string {
	if s.Threads == 0 {
		return fmt.Sprintf("%dxconn", s.Workers)
	}
	return fmt.Sprintf("%dx%d", s.Workers, s.Threads)
}

// Run is one (server, shape, workload) cell of the plan and its trials.
type Run struct {
	Server      string  `json:"server"`
	Version     string  `json:"version"`
	Model       string  `json:"model"` // the server's concurrency model
	Language    string  `json:"language"`
	Shape       Shape   `json:"shape"`
	Workload    string  `json:"workload"`
	LoadModel   string  `json:"load_model"` // closed or open
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate,omitempty"`
	// Front is the reverse proxy the load went through ("varnish",
	// "nginx"); empty when the server was measured directly.
	Front string `json:"front,omitempty"`
	// NotForProduction, when set, says why the server must not be deployed
	// (a development or reference server): it is measured and shown, but
	// not ranked or recommended.
	NotForProduction string            `json:"not_for_production,omitempty"`
	Argv             []string          `json:"argv,omitempty"`
	Settings         map[string]string `json:"settings,omitempty"`
	Trials           []Trial           `json:"trials"`
	// Summary is the trials reduced to medians with 95% confidence
	// intervals (filled when the run finishes).
	Summary *Summary `json:"summary,omitempty"`
	// Capacity is the highest open-model rate that met the latency goal.
	Capacity *Capacity `json:"capacity,omitempty"`
	// Projection carries RPS and Capacity to the target's cores (filled
	// with the summary; Projected says whether it was measured).
	Projection *Projection `json:"projection,omitempty"`
	// Error is set when the server could not be run at all (it would not
	// start, or crashed); Trials then holds what finished before.
	Error    string   `json:"error,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Stopped says why a racing plan gave this run no more trials (it
	// keeps those it has); nil when it got all it was due.
	Stopped *Stop `json:"stopped,omitempty"`
	// Balance is how evenly the worker processes shared the work, over
	// the trials (see workers.go); nil for a single-process server.
	Balance *Balance `json:"worker_balance,omitempty"`
}

// Key identifies a run within a file.
func (r Run) Key() string {
	k := r.Server + " " + r.Shape.String() + " " + r.Workload
	if r.Front != "" {
		k += " behind " + r.Front
	}
	return k
}

// Trial is one measured interval against a freshly started server.
type Trial struct {
	Index        int              `json:"index"`
	Started      time.Time        `json:"started"`
	Requests     int64            `json:"requests"`
	DurationS    float64          `json:"duration_s"`
	RPS          float64          `json:"rps"`
	Errors       Errors           `json:"errors"`
	StatusCounts map[string]int64 `json:"status_counts,omitempty"`
	// UnexpectedByRequest counts, by request name ("flow/step" in a flow)
	// and status, the responses in Errors.Unexpected; CaptureMisses, by
	// "request variable", responses a capture found nothing in.
	UnexpectedByRequest map[string]map[string]int64 `json:"unexpected_by_request,omitempty"`
	CaptureMisses       map[string]int64            `json:"capture_misses,omitempty"`
	Flows               *FlowCounts                 `json:"flows,omitempty"`
	ConnectionsOpened   int64                       `json:"connections_opened"`
	// Unfinished requests were still in flight when the trial ended;
	// StarvedConnections got no response at all. A server that serves
	// fewer clients at once than were offered shows here, not in latency.
	Unfinished         int64   `json:"unfinished"`
	StarvedConnections int64   `json:"starved_connections"`
	OldestUnfinishedMS float64 `json:"oldest_unfinished_ms,omitempty"`
	LatencyMS          Latency `json:"latency_ms"`
	// UncorrectedMS is latency from the actual send time (open model only):
	// what a closed-loop tool would have reported.
	UncorrectedMS *Latency `json:"uncorrected_latency_ms,omitempty"`
	// Histogram is the HdrHistogram (µs) in its compressed base64 encoding,
	// so trials can be merged without losing the tail.
	Histogram  string  `json:"histogram,omitempty"`
	TargetRate float64 `json:"target_rate,omitempty"`
	LateSends  int64   `json:"late_sends,omitempty"`
	// GeneratorLate are the late sends that had a free connection: the
	// generator's own delay (see load.Result.GeneratorLate).
	GeneratorLate int64 `json:"generator_late_sends,omitempty"`
	// IdleCloseRetries are idempotent requests resent on a fresh
	// connection after the server closed the kept-alive one as they were
	// sent: the keep-alive race every client meets, not an error.
	IdleCloseRetries int64   `json:"idle_close_retries,omitempty"`
	RSSPeakBytes     int64   `json:"rss_peak_bytes"`
	PSSPeakBytes     int64   `json:"pss_peak_bytes"`
	CPUSeconds       float64 `json:"cpu_seconds"` // whole server process tree, during the measured interval
	Processes        int     `json:"processes"`
	GeneratorCPUS    float64 `json:"generator_cpu_seconds"`
	// GeneratorWaitS is how long the generator waited for a CPU other
	// processes held; GeneratorStarved marks a wait over a tenth of the
	// trial, whose timing then carries the generator's own delays.
	GeneratorWaitS   float64 `json:"generator_wait_seconds,omitempty"`
	GeneratorStarved bool    `json:"generator_starved,omitempty"`
	// GeneratorBound means the load generator used ≥ 90% of its CPU: the
	// trial measured the generator, not the server, and is not ranked.
	GeneratorBound bool     `json:"generator_bound"`
	Timeline       []Second `json:"timeline,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`

	// Front is the proxy in front of the server and its counters for this
	// trial; nil when the server was measured directly.
	Front *Front `json:"front,omitempty"`
	// Phases is where the trial's time went (see Phases).
	Phases *Phases `json:"phases,omitempty"`
	// WorkerLoad is each worker process's share of the CPU time; nil for
	// a server that ran the app in one process.
	WorkerLoad *WorkerLoad `json:"worker_load,omitempty"`
}

// Estimate is a median with a 95% confidence interval over trials.
type Estimate struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	N      int     `json:"n"`
	// Confidence is the interval's actual coverage: 0.95 once there are
	// enough trials, less with fewer (then [Lo, Hi] is [min, max]).
	Confidence float64 `json:"confidence,omitempty"`
}

// Summary reduces a run's trials.
type Summary struct {
	RPS          Estimate `json:"rps"`
	P50MS        Estimate `json:"p50_ms"`
	P99MS        Estimate `json:"p99_ms"`
	P999MS       Estimate `json:"p999_ms"`
	PSSBytes     Estimate `json:"pss_bytes"`
	RSSBytes     Estimate `json:"rss_bytes"`
	CPUSeconds   Estimate `json:"cpu_seconds"`
	CPUMsPerKReq Estimate `json:"cpu_ms_per_1k_requests"`
	ErrorRate    Estimate `json:"error_rate"` // errors / (responses + requests that got none: connect, reset, timeout, protocol)
	// Warnings: too few trials, high variance, errors, generator-bound
	// trials, CPU contention; shown as footnotes.
	Warnings []string `json:"warnings,omitempty"`
}

// Verdict says how the ranking was made: on what profile, workload and
// goal, and what the reader must know to trust it.
type Verdict struct {
	Headline  string   `json:"headline"` // one sentence: the winner, or who ties
	Profile   string   `json:"profile"`  // a profile name, or "custom"
	Weights   []Weight `json:"weights"`
	Workload  string   `json:"workload"`
	GoalP99MS float64  `json:"goal_p99_ms,omitempty"`
	Alpha     float64  `json:"alpha"`
	// MinScoreGap is the score difference (points of 100) below which
	// places are called ties even when a test is significant.
	MinScoreGap float64 `json:"min_score_gap"`
	// CapacityFrom says what the capacity metric was measured as: the
	// capacity search, or closed-loop req/s when a search is missing.
	CapacityFrom string `json:"capacity_from,omitempty"`
	// Front is the proxy the ranked servers ran behind ("varnish",
	// "nginx"), when the run measured the stack: the verdict is for the
	// server behind that front, and direct runs are shown, not ranked.
	Front string   `json:"front,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Firmness is how often the first place comes out again when the
	// trials are resampled (see rank.Firmness); nil when not computed.
	Firmness *Firmness `json:"firmness,omitempty"`
}

// Firmness counts, over resamples of the trials with everything else held
// as measured, how often the verdict's first place came out exactly, and
// how often each server was in first place.
type Firmness struct {
	Resamples int           `json:"resamples"`
	Same      int           `json:"same"`
	InFirst   []ServerCount `json:"in_first"` // most often first, first
}

// ServerCount is a server and how many times something held for it.
type ServerCount struct {
	Server string `json:"server"`
	Count  int    `json:"count"`
}

// Weight is one metric's weight in a ranking profile.
type Weight struct {
	Metric string  `json:"metric"`
	Weight float64 `json:"weight"`
}

// Rank is one server's place, at its best measured shape.
type Rank struct {
	Position int     `json:"position"` // tied servers share a position
	Server   string  `json:"server"`
	Shape    Shape   `json:"shape"`
	Workload string  `json:"workload"`
	Score    float64 `json:"score"` // 0-100, 100 = best on every weighted metric
	// Reasons say in plain words why it is here and not a place higher or lower.
	Reasons  []string `json:"reasons"`
	TiedWith []string `json:"tied_with,omitempty"`
	// Metrics are the medians it was scored on, by metric key.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Capacity is the answer to "how much load can it take at my latency
// goal": the highest open-model rate with p99 under the goal and errors
// under MaxErrorRate, found by stepping up the rate then bisecting.
type Capacity struct {
	GoalP99MS    float64        `json:"goal_p99_ms"`
	MaxErrorRate float64        `json:"max_error_rate"`
	RPS          float64        `json:"rps"`   // the highest passing rate (0 if none passed)
	Limit        string         `json:"limit"` // what failed above it: "p99", "errors", "rate not achieved", or "search ceiling"
	Steps        []CapacityStep `json:"steps"`
}

// CapacityStep is one probe of the capacity search.
type CapacityStep struct {
	Rate           float64 `json:"rate"`
	Achieved       float64 `json:"achieved_rps"`
	P99MS          float64 `json:"p99_ms"`
	ErrorRate      float64 `json:"error_rate"`
	Pass           bool    `json:"pass"`
	GeneratorBound bool    `json:"generator_bound,omitempty"`
	// Retried marks a failed step the search probed again at the same
	// rate; the next step is the one that counts. Only the search's first
	// failure at or below the closed-loop throughput is retried.
	Retried bool `json:"retried,omitempty"`
}

// Errors counts failed requests by class.
type Errors struct {
	Total   int64 `json:"total"`
	Connect int64 `json:"connect"`
	Reset   int64 `json:"reset"`
	Timeout int64 `json:"timeout"`
	Status  int64 `json:"status"` // non-2xx responses to requests that name no expected status
	// Unexpected counts responses whose status the scenario's request did
	// not expect (by request in Trial.UnexpectedByRequest).
	Unexpected int64 `json:"unexpected_status,omitempty"`
	Protocol   int64 `json:"protocol"`
	// ResetOnReuse counts non-idempotent requests lost when the server
	// closed a kept-alive connection as they were sent (see
	// Trial.IdleCloseRetries for the idempotent ones, which are resent).
	ResetOnReuse int64 `json:"reset_on_reuse,omitempty"`
}

// Lost is the requests that got no response: every class but Connect (no
// request was sent), Status and Unexpected (a response came).
func (e Errors) Lost() int64 {
	return e.Reset + e.Timeout + e.Protocol + e.ResetOnReuse
}

// Latency is a percentile summary in milliseconds.
type Latency struct {
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P75   float64 `json:"p75"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
}

// Second is one second of a trial's timeline.
type Second struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P99MS    float64 `json:"p99_ms"`
}

// Write stores f at path atomically (write to a temporary file, then
// rename), so a reader or a crash never sees half a file.
func Write(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".results-*.json")
	if err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing results: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// Read loads a results file, refusing other schemas. Its errors are one
// line that names the file and, for a file that is not valid JSON, where
// it goes wrong (line, column and byte offset), so a truncated or edited
// file is found at once.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse decodes a results file's bytes; name is what errors call it.
func Parse(name string, b []byte) (*File, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s is empty: not a wsgibench results file", name)
	}
	// The schema first: a file from another version should say so, not
	// fail on the first field that changed.
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, decodeError(name, b, err)
	}
	switch {
	case head.Schema == nil:
		return nil, fmt.Errorf("%s has no \"schema\" field: not a wsgibench results file", name)
	case *head.Schema != Schema:
		return nil, fmt.Errorf("%s has schema %q, this wsgibench reads %q", name, oneLine(*head.Schema, 60), Schema)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, decodeError(name, b, err)
	}
	return &f, nil
}

// decodeError says where and how b fails to be a results file.
func decodeError(name string, b []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		what := syn.Error()
		if strings.Contains(what, "unexpected end") {
			what += " (is the file truncated?)"
		}
		return fmt.Errorf("%s is not valid JSON at %s: %s", name, position(b, syn.Offset), what)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("%s holds a JSON %s, not a wsgibench results object", name, typ.Value)
	case errors.As(err, &typ):
		// The offset is where the value ends, not where it starts.
		return fmt.Errorf("%s is not a wsgibench results file: %s (ending at %s) is a JSON %s, want %s",
			name, typ.Field, position(b, typ.Offset), typ.Value, typ.Type)
	}
	return fmt.Errorf("%s is not a wsgibench results file: %s", name, oneLine(err.Error(), 200))
}

// position turns a byte offset into "line L, column C, byte N"; the
// column counts bytes from 1.
func position(b []byte, off int64) string {
	off = min(max(off, 0), int64(len(b)))
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(b[:off], '\n'))
	if off > 0 && b[off-1] != '\n' {
		// Offsets point just past the offending byte: name that byte.
		col--
	}
	return fmt.Sprintf("line %d, column %d, byte %d", line, max(col, 1), off)
}

// oneLine keeps a quoted value on one line and short.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
