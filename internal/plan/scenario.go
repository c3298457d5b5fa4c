package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/results"
)

// preflightError is a scenario that does not fit the app: a request
// answered with a status it does not expect, or a capture that found
// nothing. Every server would measure the same mistake, so it ends the run.
// A preflight that failed otherwise (reset, timeout) is that server's
// failure, and the next server started tries again.
type preflightError struct{ err error }

func (e *preflightError) Error() string { return e.err.Error() }
func (e *preflightError) Unwrap() error { return e.err }

// preflight tries every request of a scenario workload once (each flow
// once, in order) against the first server started for it, before
// anything is measured. It goes to the server itself, not a front, so a
// cached answer cannot hide the app's.
func (r *runner) preflight(ctx context.Context, c Cell, s *started) error {
	w := c.Workload
	if w.Scenario == nil || r.preflown[w.Name] {
		return nil
	}
	if r.preflown == nil {
		r.preflown = map[string]bool{}
	}
	r.preflown[w.Name] = true
	err := load.Preflight(ctx, load.Config{Addr: s.addr, Mix: w.Mix, Timeout: r.o.Timeout, Seed: r.o.Seed})
	var mm *load.Mismatch
	switch {
	case err == nil || ctx.Err() != nil:
		return err
	case errors.As(err, &mm):
		return &preflightError{fmt.Errorf("scenario %s on %s: %w", w.Name, c.Status.Adapter.ID, err)}
	}
	r.preflown[w.Name] = false
	return fmt.Errorf("%s: %w", c.Status.Adapter.ID, err)
}

// scenarioRecords are the scenario files among the cells' workloads, once
// each, for the results file.
func scenarioRecords(cells []Cell) []results.Scenario {
	var out []results.Scenario
	seen := map[string]bool{}
	for _, c := range cells {
		s := c.Workload.Scenario
		if s == nil || seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		out = append(out, results.Scenario{Name: s.Name, File: s.File, Source: s.Source})
	}
	return out
}
