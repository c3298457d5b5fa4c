package plan

import (
	"fmt"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

// convert turns what the generator and the sampler measured into the
// results record. Throughput (rps) counts the responses that answered as
// intended only (2xx, or a scenario's expected status): a server that
// answers fast with errors must not look fast.
func convert(res *load.Result, usage proc.Stats) results.Trial {
	secs := res.Elapsed.Seconds()
	ok := res.Requests - res.Errors.Status - res.Errors.Unexpected
	t := results.Trial{
		Requests:  res.Requests,
		DurationS: secs,
		Errors: results.Errors{
			Total: res.Errors.Total(), Connect: res.Errors.Connect, Reset: res.Errors.Reset,
			Timeout: res.Errors.Timeout, Status: res.Errors.Status, Unexpected: res.Errors.Unexpected, Protocol: res.Errors.Protocol,
			ResetOnReuse: res.Errors.ResetOnReuse,
		},
		IdleCloseRetries:   res.IdleCloseRetries,
		ConnectionsOpened:  res.ConnectionsOpened,
		Unfinished:         res.Unfinished,
		StarvedConnections: res.Starved,
		OldestUnfinishedMS: float64(res.OldestUnfinished) / float64(time.Millisecond),
		LatencyMS:          summarize(res.Latency),
		TargetRate:         res.TargetRate,
		LateSends:          res.LateSends,
		GeneratorLate:      res.GeneratorLate,
		RSSPeakBytes:       usage.PeakRSSBytes,
		PSSPeakBytes:       usage.PeakPSSBytes,
		CPUSeconds:         usage.CPU.Seconds(),
		Processes:          usage.MaxProcs,
		GeneratorCPUS:      res.GeneratorCPU.Seconds(),
		GeneratorBound:     res.GeneratorBound,
		GeneratorWaitS:     res.GeneratorWait.Seconds(),
		GeneratorStarved:   res.GeneratorStarved,
		Warnings:           append([]string(nil), res.Warnings...),
	}
	if secs > 0 {
		t.RPS = float64(ok) / secs
	}
	if len(res.StatusCounts) > 0 {
		t.StatusCounts = map[string]int64{}
		for code, n := range res.StatusCounts {
			t.StatusCounts[strconv.Itoa(code)] = n
		}
	}
	for name, byStatus := range res.Unexpected {
		if t.UnexpectedByRequest == nil {
			t.UnexpectedByRequest = map[string]map[string]int64{}
		}
		t.UnexpectedByRequest[name] = map[string]int64{}
		for code, n := range byStatus {
			t.UnexpectedByRequest[name][strconv.Itoa(code)] = n
		}
	}
	t.CaptureMisses = res.CaptureMisses
	if f := res.Flows; f.Started > 0 {
		t.Flows = &results.FlowCounts{Started: f.Started, Completed: f.Completed, Aborted: f.Aborted}
	}
	if res.TargetRate > 0 && res.Uncorrected != nil {
		u := summarize(res.Uncorrected)
		t.UncorrectedMS = &u
	}
	// Encode already yields the base64 text form HdrHistogram tools read.
	if enc, err := res.Latency.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		t.Histogram = string(enc)
	}
	for _, s := range res.Timeline {
		t.Timeline = append(t.Timeline, results.Second{Requests: s.Requests, Errors: s.Errors, P99MS: float64(s.P99us) / 1000})
	}
	return t
}

// summarize reads percentiles (µs) into milliseconds.
func summarize(h *hdrhistogram.Histogram) results.Latency {
	if h == nil || h.TotalCount() == 0 {
		return results.Latency{}
	}
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	return results.Latency{
		Mean: h.Mean() / 1000, P50: ms(50), P75: ms(75), P90: ms(90), P99: ms(99),
		P999: ms(99.9), P9999: ms(99.99), Max: float64(h.Max()) / 1000,
	}
}

// nagleHint explains a trial whose median latency sits at Linux's delayed-ACK
// timeout (about 40 ms) while the server's CPU was mostly idle: the server
// wrote each response in more than one segment without TCP_NODELAY, so the
// last segment waited for the client's delayed ACK. Any client sees it (wrk
// measures the same), and so would a proxy in front.
func nagleHint(t results.Trial, serverCPUs int) string {
	if t.DurationS <= 0 || serverCPUs <= 0 {
		return ""
	}
	busy := t.CPUSeconds / (t.DurationS * float64(serverCPUs))
	if t.LatencyMS.P50 < 38 || t.LatencyMS.P50 > 48 || busy > 0.6 {
		return ""
	}
	return fmt.Sprintf("median latency %.0f ms with the server's CPU %.0f%% busy: the signature of Nagle's algorithm meeting delayed ACKs "+
		"(responses written in several segments without TCP_NODELAY); wrk sees the same", t.LatencyMS.P50, 100*busy)
}
