package front

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"time"
)

// Quiet reads the front's counters once nothing is in flight through it:
// for Varnish, once its counters stop moving (see Snapshot); for nginx,
// once no client connection but the status request's own is open and the
// access log has stopped growing, because nginx writes a request's log
// line only when the request ends, which can be after the client has its
// answer. Bounded: after a second it returns what it has.
//
// A probe compares two quiet snapshots taken around one exact request to
// tell whether the front passed anything of it on to the server; under
// load, Snapshot is the one to use.
func (f *Front) Quiet(ctx context.Context) (Snapshot, error) {
	if f.kind != Nginx {
		return f.Snapshot(ctx)
	}
	prev, err := f.Snapshot(ctx)
	if err != nil {
		return prev, err
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		cur, err := f.Snapshot(ctx)
		if err != nil {
			return cur, err
		}
		if cur.stub.Active <= 1 && cur.access == prev.access {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// Forwarded is how many requests the front passed on to the server
// between two snapshots, whether or not the server answered them: for
// Varnish its backend requests and pipes; for nginx the upstream attempts
// in its access log ("-" is a request nginx answered itself, "0" one the
// server took and closed without a byte).
func (f *Front) Forwarded(before, after Snapshot) (int64, error) {
	switch f.kind {
	case Varnish:
		d := func(name string) int64 { return max(0, after.varnish["MAIN."+name]-before.varnish["MAIN."+name]) }
		return d("backend_req") + d("s_pipe"), nil
	case Nginx:
		b, err := f.readLog("access.log", before.access, after.access)
		if err != nil {
			return 0, err
		}
		return upstreamAttempts(b), nil
	}
	return 0, nil
}

// upstreamAttempts counts the upstream attempts in access log lines
// "$status $upstream_bytes_received" (see countAccess): every
// comma-separated entry but "-".
func upstreamAttempts(b []byte) int64 {
	var n int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		_, up, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		for _, e := range strings.Split(up, ",") {
			if e = strings.TrimSpace(e); e != "" && e != "-" {
				n++
			}
		}
	}
	return n
}
