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

// stopAfterTrial stops a server whose trial is measured.
func (r *runner) stopAfterTrial(c Cell, g *proc.Group) error {
	return g.Stop()
}
