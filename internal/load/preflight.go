package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Mismatch is a preflight answer the scenario did not expect: a status it
// does not list, or a capture that found nothing. Other preflight errors
// (a refused connection, a reset, a timeout) are the server's failures,
// not the scenario's.
type Mismatch struct{ msg string }

func (e *Mismatch) Error() string { return e.msg }

func mismatch(format string, args ...any) error {
	return &Mismatch{fmt.Sprintf(format, args...)}
}

// bodyShown is how much of a response body a preflight error quotes.
const bodyShown = 120

// Preflight sends every request of cfg.Mix once to cfg.Addr, and runs each
// flow once with its steps in order, before anything is measured. The first
// request answered with a status it does not expect (any 2xx when it names
// none), or whose capture finds nothing, ends it with one line naming the
// request, what was expected, what came back and the start of the body: a
// scenario that does not fit the app fails in a second, not as a run full
// of errors.
//
// Each request goes on a connection of its own, so a server that closes
// connections needs no special case; only Addr, Host, Mix, Timeout and Seed
// of cfg are used.
func Preflight(ctx context.Context, cfg Config) error {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("preflight: address %q: %w", cfg.Addr, err)
	}
	if err := CheckLoopback(host); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Addr
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	m, err := compileMix(cfg.Mix, cfg.Host)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	v := &vars{rng: connRNG(cfg.Seed, 0), seq: new(atomic.Int64)}
	var buf, scratch []byte
	for _, e := range m.tmpl {
		steps := []*compiled{e}
		if e.flow != nil {
			steps = e.flow.steps
			v.vals = make([][]byte, e.flow.nvars)
		}
		for _, t := range steps {
			buf, scratch = t.appendRequest(buf[:0], scratch, v)
			line, _, _ := strings.Cut(string(buf), "\r\n")
			line = strings.TrimSuffix(line, " HTTP/1.1")
			where := fmt.Sprintf("request %q (%s)", t.name, line)
			status, body, err := roundTrip(ctx, cfg, buf, t.head)
			if err != nil {
				return fmt.Errorf("preflight: %s: %w", where, err)
			}
			if !t.expected(status) {
				return mismatch("preflight: %s: expected status %s, got %d; body starts %s",
					where, expectText(t.expect), status, bodyStart(body))
			}
			for i := range t.captures {
				k := &t.captures[i]
				val, why := k.find(body)
				if why != "" {
					return mismatch("preflight: %s: capture %s %s found %s in the %d response; body starts %s",
						where, k.name, k.rule, why, status, bodyStart(body))
				}
				v.vals[k.slot] = append(v.vals[k.slot][:0], val...)
			}
		}
	}
	return nil
}

func expectText(expect []int) string {
	if len(expect) == 0 {
		return "2xx"
	}
	var s []string
	for _, c := range expect {
		s = append(s, strconv.Itoa(c))
	}
	return strings.Join(s, " or ")
}

// bodyStart quotes the start of a body on one line.
func bodyStart(body []byte) string {
	if len(body) == 0 {
		return "(empty)"
	}
	if len(body) > bodyShown {
		return strconv.Quote(string(body[:bodyShown])) + "…"
	}
	return strconv.Quote(string(body))
}

// roundTrip sends one request on a fresh connection and reads its response.
func roundTrip(ctx context.Context, cfg Config, req []byte, head bool) (status int, body []byte, err error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return 0, nil, err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	nc.SetDeadline(time.Now().Add(cfg.Timeout))
	if _, err := nc.Write(req); err != nil {
		return 0, nil, err
	}
	p := respParser{head: head, sink: &body}
	var buf []byte
	chunk := make([]byte, 16<<10)
	for {
		n, rerr := nc.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for len(buf) > 0 {
			k, done, err := p.feed(buf)
			buf = buf[k:]
			if err != nil {
				return 0, body, fmt.Errorf("unreadable response: %w", err)
			}
			if done {
				return p.status, body, nil
			}
			if k == 0 {
				break // a partial line: read more
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) && p.eof() {
				return p.status, body, nil
			}
			if ctx.Err() != nil {
				return 0, body, ctx.Err()
			}
			if errors.Is(rerr, io.EOF) {
				return 0, body, errors.New("the server closed the connection without a complete response")
			}
			return 0, body, rerr
		}
	}
}
