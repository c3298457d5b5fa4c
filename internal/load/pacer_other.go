//go:build !linux

package load

import "time"

// pacer sleeps with Go timers where no timerfd exists.
type pacer struct{ start time.Time }

func newPacer(start time.Time) *pacer { return &pacer{start: start} }

func (p *pacer) sleepUntil(at int64, ch chan struct{}, done <-chan struct{}) {
	d := at - int64(time.Since(p.start))
	if d <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(d))
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

func (p *pacer) close() {}
