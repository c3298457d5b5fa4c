package front

import (
	"context"
	"fmt"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// BoundShare is the fraction of its CPUs a front must use to be marked
// bound, as for the load generator.
const BoundShare = 0.9

// Snapshot is the front's counters at one instant. Only the difference
// between two snapshots of the same front means anything.
type Snapshot struct {
	At      time.Time
	varnish map[string]int64
	stub    stubStatus
	access  int64 // nginx log sizes
	errlog  int64
}

// Snapshot reads the front's counters now.
func (f *Front) Snapshot(ctx context.Context) (Snapshot, error) {
	s := Snapshot{At: time.Now()}
	var err error
	switch f.kind {
	case Varnish:
		s.varnish, err = f.settledVarnish(ctx)
	case Nginx:
		// Logs first: a request logged after this point but counted by
		// stub_status below is counted in both of the same interval.
		s.access, s.errlog = f.logSize("access.log"), f.logSize("error.log")
		s.stub, err = f.stub(ctx)
	}
	return s, err
}

// varnishLinger is how long a Varnish worker may hold an idle client
// connection (timeout_linger, 50 ms by default) before it adds the
// session's counters to the totals varnishstat shows.
const varnishLinger = 50 * time.Millisecond

// settledVarnish reads the counters once they stopped moving: a worker
// adds its counters to the totals only when it goes idle (after
// timeout_linger) or every few requests, so a read right after the load
// stopped can miss the last requests.
func (f *Front) settledVarnish(ctx context.Context) (map[string]int64, error) {
	prev, err := f.varnishCounters(ctx)
	if err != nil {
		return nil, err
	}
	for range 10 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(varnishLinger + 10*time.Millisecond):
		}
		cur, err := f.varnishCounters(ctx)
		if err != nil {
			return nil, err
		}
		if sameTraffic(prev, cur) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// sameTraffic compares the counters that move with requests.
func sameTraffic(a, b map[string]int64) bool {
	for _, k := range []string{"MAIN.client_req", "MAIN.backend_req", "MAIN.cache_hit", "MAIN.cache_miss", "MAIN.s_pass", "MAIN.s_synth"} {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// Result is the front's record for one measured interval between two
// snapshots: counters, the CPU its process tree used (from proc's
// sampling), whether it was the bottleneck, and what reached the server.
func (f *Front) Result(before, after Snapshot, cpu, interval time.Duration) (results.Front, error) {
	r := f.info
	r.CPUSeconds = cpu.Seconds()
	if interval > 0 && f.cpus > 0 {
		r.CPUUse = cpu.Seconds() / (interval.Seconds() * float64(f.cpus))
		r.Bound = r.CPUUse >= BoundShare
	}
	switch f.kind {
	case Varnish:
		v := varnishDelta(before.varnish, after.varnish)
		r.Varnish = v
		r.ServerRequests = v.BackendReqs
		if n := v.CacheHits + v.CacheMisses; n > 0 {
			r.HitRatio = ratio(v.CacheHits, n)
		}
		if n := v.BackendReuse + v.BackendConn; n > 0 {
			r.ReuseRatio = ratio(v.BackendReuse, n)
		}
	case Nginx:
		// Each stub_status read is itself a request on a new connection:
		// the one of the later snapshot falls inside the interval.
		n := &results.NginxCounters{
			Accepted: max(0, after.stub.Accepted-before.stub.Accepted-1),
			Handled:  max(0, after.stub.Handled-before.stub.Handled-1),
			Requests: max(0, after.stub.Requests-before.stub.Requests-1),
			Active:   max(0, after.stub.Active-1),
		}
		acc, err := f.readLog("access.log", before.access, after.access)
		if err != nil {
			return r, err
		}
		countAccess(acc, n)
		errs, err := f.readLog("error.log", before.errlog, after.errlog)
		if err != nil {
			return r, err
		}
		countErrors(errs, n)
		r.Nginx = n
		r.ServerRequests = n.UpstreamRequests
	}
	if interval > 0 {
		r.ServerRPS = float64(r.ServerRequests) / interval.Seconds()
	}
	return r, nil
}

func ratio(a, b int64) *float64 {
	v := float64(a) / float64(b)
	return &v
}

// Warnings says in words what the counters show went wrong between the
// front and the server: requests the front answered itself with an error
// instead of passing them on, and why.
func Warnings(r results.Front) []string {
	var ws []string
	if v := r.Varnish; v != nil {
		if v.BackendBusy > 0 {
			ws = append(ws, fmt.Sprintf("varnish answered %d requests with 503 at once because the backend's max_connections was reached (backend_busy): the VCL caps connections to the server below the load offered", v.BackendBusy))
		}
		if v.BackendUnhealthy > 0 {
			ws = append(ws, fmt.Sprintf("varnish answered %d requests with 503 because its health probe marked the server sick (backend_unhealthy)", v.BackendUnhealthy))
		}
		if v.BackendFail > 0 {
			ws = append(ws, fmt.Sprintf("varnish failed to connect to the server %d times (backend_fail)", v.BackendFail))
		}
		if other := v.FetchFailed - v.BackendBusy - v.BackendUnhealthy - v.BackendFail; other > 0 {
			ws = append(ws, fmt.Sprintf("%d more varnish fetches failed (fetch_failed): the server closed or reset the connection, or timed out", other))
		}
	}
	if n := r.Nginx; n != nil {
		if n.Status502+n.Status504 > 0 {
			ws = append(ws, fmt.Sprintf("nginx answered %d requests with 502 and %d with 504 itself (error log: %d upstream timeouts, %d connect failures, %d other upstream errors such as max_conns reached: \"no live upstreams\")",
				n.Status502, n.Status504, n.UpstreamTimeouts, n.UpstreamConnectFails, n.UpstreamErrors))
		}
		if n.Handled < n.Accepted {
			ws = append(ws, fmt.Sprintf("nginx dropped %d client connections (a resource limit such as worker_connections)", n.Accepted-n.Handled))
		}
	}
	return ws
}
