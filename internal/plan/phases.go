package plan

import (
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
)

// phaseClock times a trial's phases (results.Phases): each lap is the time
// since the previous one, in seconds to the millisecond.
type phaseClock struct{ began, last time.Time }

func newPhaseClock() *phaseClock {
	now := time.Now()
	return &phaseClock{began: now, last: now}
}

func (c *phaseClock) lap() float64 {
	now := time.Now()
	d := now.Sub(c.last)
	c.last = now
	return seconds(d)
}

func (c *phaseClock) total() float64 { return seconds(time.Since(c.began)) }

func seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// stopAfterTrial ends a server whose trial is measured. Nothing it does
// from here on is evidence and its database copy is thrown away, so it is
// killed at once rather than given the graceful shutdown that costs
// gunicorn half a second a trial (its arbiter polls its workers' exit
// every 100 ms). Apache (mod_wsgi) alone is stopped gracefully: it holds
// System V semaphores and shared memory that only its own shutdown
// removes, and a SIGKILL per trial would leak them until the kernel's
// limits are reached.
func (r *runner) stopAfterTrial(c Cell, g *proc.Group) error {
	return stopMeasured(c, g)
}

func stopMeasured(c Cell, g *proc.Group) error {
	if c.Status.Adapter.Family == "mod_wsgi" {
		return g.Stop()
	}
	return g.Kill()
}

// finish is stop for a server whose measurement is over (a capacity
// search): the front stops as ever, the server is ended as after a trial.
func (s *started) finish(c Cell) {
	if s.front != nil {
		s.front.Stop()
	}
	if s.group != nil {
		stopMeasured(c, s.group)
	}
}
