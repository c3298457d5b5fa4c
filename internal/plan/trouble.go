package plan

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// robustness runs the trouble scenarios against every server, around the
// probe app (the scenarios ask how the server shields its other clients,
// whatever the app).
func (r *runner) robustness(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	todo := troubleCells(cells)
	most := 3 // a race's contenders: the median of 3
	if r.o.TroubleRepeat > 0 {
		most = r.o.TroubleRepeat
	}
	most, scenarios, cut := r.troubleFit(len(todo), most, r.troubleScenarios())
	r.cut(file, cut)
	return r.eachServer(ctx, "trouble", todo, file, outPath, func(c Cell) (string, string, func()) {
		rob := r.troubleOne(ctx, c, scenarios, min(most, r.troubleRepeat(c.Status.Adapter.ID, file.Runs)))
		line := fmt.Sprintf("score %3.0f%%:", 100*rob.Score)
		for _, sc := range rob.Scenarios {
			if sc.Error != "" {
				line += fmt.Sprintf(" %s failed to run;", sc.ID)
				continue
			}
			switch {
			case sc.ThresholdMax > 0 && sc.Threshold == 0:
				line += fmt.Sprintf(" %s > %d;", sc.ID, sc.ThresholdMax)
			case sc.ThresholdMax > 0:
				line += fmt.Sprintf(" %s %d;", sc.ID, sc.Threshold)
			case sc.Outcome != "":
				line += fmt.Sprintf(" %s %s %.0f%%;", sc.ID, sc.Outcome, 100*sc.Retained)
			default:
				line += fmt.Sprintf(" %s %.0f%%;", sc.ID, 100*sc.Retained)
			}
		}
		return line, rob.Failed, func() { file.Robustness = append(file.Robustness, rob) }
	})
}

func (r *runner) troubleOne(ctx context.Context, c Cell, scenarios []trouble.Scenario, repeat int) results.Robustness {
	a := c.Status.Adapter
	rob := results.Robustness{Server: a.ID, Version: c.Status.Version, Shape: results.Shape(c.Shape)}
	if c.hasFront() {
		rob.Front = string(c.Front)
	}
	ps, err := r.startSuite(ctx, c)
	if err != nil {
		rob.Failed = "not started: " + err.Error()
		return rob
	}
	defer ps.stop()
	o := trouble.Options{LatencyGoal: r.o.LatencyGoal, Repeat: repeat}
	if c.hasFront() {
		o.Observe = ps.observeFront
	}
	res := trouble.Run(ctx, ps, scenarios, o)
	for _, tr := range res {
		tc := results.TroubleCase{ID: tr.Scenario.ID, Title: tr.Scenario.Title, BaselineRPS: tr.BaselineRPS,
			BeforeRPS: tr.BeforeRPS, AfterRPS: tr.AfterRPS, TroubleRPS: tr.TroubleRPS, Retained: tr.Retained, Errors: tr.Errors,
			P99MS: float64(tr.P99) / float64(time.Millisecond), MaxMS: float64(tr.Longest) / float64(time.Millisecond),
			Recovered: tr.Recovered, Detail: tr.Detail,
			Outcome: string(tr.Outcome), RecoveryS: tr.Recovery.Seconds(),
			RetainedLo: tr.RetainedLo, RetainedHi: tr.RetainedHi, Unscored: tr.Scenario.Unscored, Repeats: tr.Repeats,
			Seconds: math.Round(tr.Seconds*100) / 100}
		if tr.Scenario.ID == "slow-threshold" {
			tc.Threshold, tc.ThresholdMax = tr.Threshold, trouble.MaxSlow
		}
		if tr.Err != nil {
			tc.Error = tr.Err.Error()
		}
		if fr, ok := tr.Observed.(*results.Front); ok {
			tc.Front = fr
		}
		rob.Scenarios = append(rob.Scenarios, tc)
	}
	rob.Score, _ = trouble.Score(res)
	return rob
}

// observeFront measures the suite's front over one scenario's trouble
// window (trouble.Options.Observe): its counters and CPU, as for a trial.
// The front in place when the window opens is the one measured: a
// scenario restarts the server and its front only between windows.
func (p *suiteServer) observeFront(ctx context.Context) func(context.Context) any {
	m, err := startMeter(ctx, p.front)
	if err != nil || m == nil {
		return nil
	}
	return func(ctx context.Context) any {
		usage, interval := m.stopSampling()
		fr, err := m.result(ctx, usage, interval)
		if err != nil {
			return nil
		}
		return fr
	}
}
