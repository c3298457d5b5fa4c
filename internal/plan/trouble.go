package plan

import (
	"context"
	"fmt"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// robustness runs the trouble scenarios against every server, around the
// probe app (the scenarios ask how the server shields its other clients,
// whatever the app), writing the results file after each server.
func (r *runner) robustness(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	scenarios := trouble.Scenarios()
	if r.o.TroubleScenarios != nil {
		scenarios = r.o.TroubleScenarios
	}
	servers := probeCells(cells)
	for n, c := range servers {
		if ctx.Err() != nil {
			return nil
		}
		began := time.Now()
		rob := r.troubleOne(ctx, c, scenarios)
		if ctx.Err() != nil {
			return nil // an interrupted scenario is not a result
		}
		file.Robustness = append(file.Robustness, rob)
		prefix := fmt.Sprintf("[trouble %d/%d] %-18s", n+1, len(servers), c.Status.Adapter.ID)
		if rob.Failed != "" {
			fmt.Fprintf(r.log, "%s  FAILED: %s\n", prefix, oneLine(rob.Failed))
		} else {
			line := fmt.Sprintf("%s  score %3.0f%%:", prefix, 100*rob.Score)
			for _, sc := range rob.Scenarios {
				if sc.Error != "" {
					line += fmt.Sprintf(" %s failed to run;", sc.ID)
					continue
				}
				line += fmt.Sprintf(" %s %.0f%%;", sc.ID, 100*sc.Retained)
			}
			fmt.Fprintf(r.log, "%s (%s)\n", line, time.Since(began).Round(100*time.Millisecond))
		}
		if err := results.Write(outPath, file); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) troubleOne(ctx context.Context, c Cell, scenarios []trouble.Scenario) results.Robustness {
	a := c.Status.Adapter
	rob := results.Robustness{Server: a.ID, Version: c.Status.Version, Shape: results.Shape(c.Shape)}
	ps, err := r.startSuite(ctx, c)
	if err != nil {
		rob.Failed = "not started: " + err.Error()
		return rob
	}
	defer ps.stop()
	res := trouble.Run(ctx, ps, scenarios, trouble.Options{})
	for _, tr := range res {
		tc := results.TroubleCase{ID: tr.Scenario.ID, Title: tr.Scenario.Title, BaselineRPS: tr.BaselineRPS,
			TroubleRPS: tr.TroubleRPS, Retained: tr.Retained, Errors: tr.Errors,
			P99MS: float64(tr.P99) / float64(time.Millisecond), Recovered: tr.Recovered, Detail: tr.Detail}
		if tr.Err != nil {
			tc.Error = tr.Err.Error()
		}
		rob.Scenarios = append(rob.Scenarios, tc)
	}
	rob.Score, _ = trouble.Score(res)
	return rob
}
