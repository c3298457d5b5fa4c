package plan

import (
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

func TestConvert(t *testing.T) {
	h := load.NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		h.RecordValue(i * 100) // 0.1 ms … 100 ms
	}
	res := &load.Result{
		Requests: 1000, Errors: load.Errors{Status: 10, Reset: 2}, StatusCounts: map[int]int64{200: 990, 500: 10},
		Elapsed: 2 * time.Second, Latency: h, Uncorrected: h, TargetRate: 500,
		Timeline: []load.Second{{Requests: 500, Errors: 6, P99us: 99000}},
	}
	tr := convert(res, proc.Stats{PeakRSSBytes: 5 << 20, PeakPSSBytes: 3 << 20, CPU: 1500 * time.Millisecond, MaxProcs: 3})
	if tr.RPS != 495 { // 990 2xx responses over 2 s: errors are not throughput
		t.Errorf("rps = %v, want 495", tr.RPS)
	}
	if tr.Errors.Total != 12 || tr.StatusCounts["500"] != 10 {
		t.Errorf("errors = %+v, status %v", tr.Errors, tr.StatusCounts)
	}
	if tr.LatencyMS.P50 < 49 || tr.LatencyMS.P50 > 51 || tr.LatencyMS.Max < 99.9 || tr.UncorrectedMS == nil {
		t.Errorf("latency = %+v, uncorrected %v", tr.LatencyMS, tr.UncorrectedMS)
	}
	if tr.CPUSeconds != 1.5 || tr.RSSPeakBytes != 5<<20 || tr.Processes != 3 || tr.Timeline[0].P99MS != 99 {
		t.Errorf("usage = %+v", tr)
	}
	// The stored histogram decodes to the same distribution.
	back, err := hdrhistogram.Decode([]byte(tr.Histogram))
	if err != nil {
		t.Fatalf("stored histogram does not decode: %v", err)
	}
	if back.TotalCount() != 1000 || back.ValueAtQuantile(99) != h.ValueAtQuantile(99) {
		t.Errorf("decoded count %d p99 %d", back.TotalCount(), back.ValueAtQuantile(99))
	}
}

func TestNagleHint(t *testing.T) {
	for _, tc := range []struct {
		p50, cpu float64
		want     bool
	}{
		{44, 0.3, true},  // 40 ms stall, server idle
		{44, 2.9, false}, // busy server that happens to be slow
		{5, 0.3, false},  // fast
		{20, 0.1, false}, // e.g. a sleeping endpoint
	} {
		tr := results.Trial{DurationS: 3, CPUSeconds: tc.cpu, LatencyMS: results.Latency{P50: tc.p50}}
		if got := nagleHint(tr, 1) != ""; got != tc.want {
			t.Errorf("p50 %v cpu %v: hint=%v, want %v", tc.p50, tc.cpu, got, tc.want)
		}
	}
}
