package trouble

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
)

// MaxSlow is the most slow clients the threshold search tries: past it a
// server is taken to shrug slow clients off.
const MaxSlow = 256

// probeWindow is how long the victims are measured at each number of slow
// clients; shorter than a scenario's window, as the search takes several.
const probeWindow = time.Second

// slowThreshold finds the number of slow clients (sending headers a line
// every half second, as slow-headers does) at which the victims lose half
// their throughput: it doubles the number from 1 until they do, then
// bisects. That number, next to the server's shape, is something a person
// can act on ("two slow clients take a 2-worker sync server down").
//
// It is reported beside the scores, not in them: Retained is the share
// kept at the largest number tried that left them at least half.
func slowThreshold(ctx context.Context, s Server, o Options) Result {
	var res Result
	cfg, rps, err := baseline(ctx, s, o)
	if err != nil {
		res.Err = err
		return res
	}
	res.BaselineRPS = rps

	kept := map[int]float64{}
	once := func(n int) (float64, error) {
		tctx, stop := context.WithCancel(ctx)
		_, _, done := slowClients(tctx, s, n, "GET /plaintext HTTP/1.1\r\nHost: trouble\r\n",
			func(k int) string { return fmt.Sprintf("X-Slow-%d: %s\r\n", k, strings.Repeat("a", 8)) })
		select {
		case <-ctx.Done():
		case <-time.After(lead):
		}
		c := victims(cfg, s)
		c.Duration = probeWindow
		under, err := load.Run(ctx, c)
		stop()
		<-done
		if err != nil {
			return 0, err
		}
		// Let the server notice its slow clients are gone before the next.
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
		return goodRate(under), nil
	}
	probe := func(n int) (float64, error) {
		if r, ok := kept[n]; ok {
			return r, nil
		}
		good, err := once(n)
		if err != nil {
			return 0, err
		}
		base := res.BaselineRPS
		if good < base/2 && ctx.Err() == nil {
			// A drop is confirmed before it counts: a second window
			// with as many slow clients, then the victims alone again.
			// The slow clients cause a drop in both windows and not
			// alone; when the victims are slow alone too, another job
			// took the CPUs, and the drop is judged against that rate.
			if again, err := once(n); err == nil {
				good = math.Max(good, again)
			}
			c := victims(cfg, s)
			c.Duration = probeWindow
			if alone, err := load.Run(ctx, c); err == nil && goodRate(alone) > 0 {
				base = math.Min(base, goodRate(alone))
			}
		}
		r := math.Min(1, good/base)
		kept[n] = r
		return r, nil
	}
	threshold, err := search(ctx, probe)
	if err != nil {
		res.Err = err
		return res
	}
	res.Threshold = threshold
	var tried []string
	for n := 1; n <= MaxSlow; n *= 2 {
		if r, ok := kept[n]; ok {
			tried = append(tried, fmt.Sprintf("%d: %.0f%%", n, 100*r))
		}
	}
	if threshold == 0 {
		res.Retained = kept[MaxSlow]
		res.Detail = fmt.Sprintf("the victims kept at least half of %.0f req/s with up to %d slow clients (kept, by slow clients: %s)",
			res.BaselineRPS, MaxSlow, strings.Join(tried, ", "))
		return res
	}
	res.Retained = 0
	if threshold > 1 {
		res.Retained = kept[threshold-1]
	}
	res.Detail = fmt.Sprintf("%d slow client(s) took the victims below half of %.0f req/s (kept %.0f%%; by slow clients: %s)",
		threshold, res.BaselineRPS, 100*kept[threshold], strings.Join(tried, ", "))
	return res
}

// search returns the least n in 1..MaxSlow for which kept(n) < 1/2,
// assuming more slow clients never help, or 0 when there is none. It
// doubles n, then bisects between the last n that held and the first that
// did not.
func search(ctx context.Context, kept func(n int) (float64, error)) (int, error) {
	lo, hi := 0, 0 // kept(lo) ≥ 1/2 (lo 0: none tried); kept(hi) < 1/2
	for n := 1; n <= MaxSlow; n *= 2 {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		r, err := kept(n)
		if err != nil {
			return 0, fmt.Errorf("%d slow clients: %w", n, err)
		}
		if r < 0.5 {
			hi = n
			break
		}
		lo = n
	}
	if hi == 0 {
		return 0, nil
	}
	for hi-lo > 1 {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		mid := (lo + hi) / 2
		r, err := kept(mid)
		if err != nil {
			return 0, fmt.Errorf("%d slow clients: %w", mid, err)
		}
		if r < 0.5 {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}
