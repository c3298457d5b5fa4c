package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func specName(s Spec) string {
	if s.Name != "" {
		return s.Name
	}
	if len(s.Argv) > 0 {
		return filepath.Base(s.Argv[0])
	}
	return "server"
}

// Readiness polling: while nothing listens on the port a probe costs one
// refused connect (no request reaches the server), so it is repeated every
// refusedPoll and readiness is seen within that of the socket being bound;
// once something listens, the probe's request waits for the answer
// itself, and a refused answer (a 503 while the app loads) backs off to
// answeredPoll.
const (
	refusedPoll  = 5 * time.Millisecond
	answeredPoll = 100 * time.Millisecond
)

// WaitHTTP polls "GET path" on addr until the server answers with a 2xx
// status, the server exits, timeout passes (if > 0) or ctx is done. Its
// errors are one line; the whole output stays available through Output.
func WaitHTTP(ctx context.Context, g *Group, addr, path string, timeout time.Duration) error {
	if path == "" {
		path = "/"
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	backoff := 20 * time.Millisecond
	var lastProbe error
	for {
		select {
		case <-g.Done():
			return exitedBeforeReady(g)
		default:
		}
		code, err := probeHTTP(ctx, addr, path)
		if err == nil && code >= 200 && code < 300 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("HTTP status %d", code)
		}
		if ctx.Err() == nil {
			lastProbe = err
		}
		wait := backoff
		if errors.Is(err, syscall.ECONNREFUSED) {
			wait = refusedPoll // not listening yet: nothing to back off from
		} else {
			backoff = min(2*backoff, answeredPoll)
		}
		t := time.NewTimer(wait)
		select {
		case <-g.Done():
			t.Stop()
			return exitedBeforeReady(g)
		case <-ctx.Done():
			t.Stop()
			if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s never became ready on %s within %v: %s",
					g.name, addr, timeout, lastWords(g.Output(0), lastProbe))
			}
			return fmt.Errorf("%s: waiting for readiness on %s: %w", g.name, addr, ctx.Err())
		case <-t.C:
		}
	}
}

func exitedBeforeReady(g *Group) error {
	status := "exit status 0"
	if err := g.ExitErr(); err != nil {
		status = oneLine(err.Error())
	}
	return fmt.Errorf("%s exited before ready (%s): %s", g.name, status, informativeLine(g.Output(0)))
}

// probeHTTP sends one GET with Connection: close and returns the status code.
func probeHTTP(ctx context.Context, addr, path string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: wsgibench-ready\r\nConnection: close\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("reading status line: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, fmt.Errorf("malformed status line %q", strings.TrimSpace(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("malformed status line %q", strings.TrimSpace(line))
	}
	return code, nil
}

// lastWords is the last non-empty output line, or the last probe error if
// the server said nothing.
func lastWords(lines []string, probe error) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return oneLine(l)
		}
	}
	if probe != nil {
		return "no output; last probe: " + oneLine(probe.Error())
	}
	return "no output"
}

var (
	// errorish lines say what went wrong.
	errorish = regexp.MustCompile(`(?i)(error|exception|errno|no module named|cannot|can't|could not|couldn't|failed|fatal|denied|in use|not found|invalid|unable|refused|no such)`)
	// boring lines are routine shutdown chatter printed after the real cause.
	boring = regexp.MustCompile(`(?i)(shutting down|worker failed to boot|worker exiting|handling signal|goodbye to uwsgi|vacuum|^traceback \(most recent call last\)|^during handling of the above exception|^the above exception was the direct cause)`)
)

// informativeLine picks the line of a failing server's output tail that best
// explains the failure: the last error-looking line that is neither routine
// shutdown chatter nor an indented traceback frame (so gunicorn's "Reason:
// Worker failed to boot." and HaltServer tracebacks yield to the
// ModuleNotFoundError above them), else the last non-empty line.
func informativeLine(lines []string) string {
	const window = 60
	if len(lines) > window {
		lines = lines[len(lines)-window:]
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		indented := l != "" && l[0] != lines[i][0]
		if l != "" && !indented && errorish.MatchString(l) && !boring.MatchString(l) {
			return oneLine(l)
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !boring.MatchString(l) {
			return oneLine(l)
		}
	}
	return lastWords(lines, nil)
}

// oneLine flattens s and bounds its length for single-line messages.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const maxLen = 400
	if len(s) > maxLen {
		s = s[:maxLen] + "…"
	}
	return s
}

// CheckPortFree reports a clear error if addr ("host:port") cannot be bound.
func CheckPortFree(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("checking port: %w", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("port %s on %s is in use", port, host)
		}
		return fmt.Errorf("checking port %s on %s: %w", port, host, err)
	}
	return l.Close()
}

// FreePort asks the kernel for a currently unused TCP port on host.
// Another process may take it before it is used; CheckPortFree and the
// readiness check catch that.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
