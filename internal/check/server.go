package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wsgibench/wsgibench/internal/proc"
)

// running is a gunicorn serving the app through the helper's wrapper.
type running struct {
	group   *proc.Group
	addr    string
	log     string // the server's combined output
	reports string // where the wrapper writes import-*.json and worker-*.json
}

// serve starts gunicorn with the worker flags given (e.g. "-k", "gthread")
// around the app and waits until the readiness request answers 2xx.
func (c *checker) serve(ctx context.Context, name string, workerArgs ...string) (*running, error) {
	port, err := proc.FreePort(c.o.Host)
	if err != nil {
		return nil, err
	}
	c.n++
	dir := filepath.Join(c.work, fmt.Sprintf("%02d-%s", c.n, name))
	reports := filepath.Join(dir, "fds")
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("%s:%d", c.o.Host, port)
	if strings.Contains(c.o.Host, ":") {
		addr = fmt.Sprintf("[%s]:%d", c.o.Host, port)
	}
	pythonPath := c.helperDir() + ":" + c.o.Dir
	if old := os.Getenv("PYTHONPATH"); old != "" {
		pythonPath += ":" + old
	}
	env, err := c.env(ctx, "PYTHONPATH="+pythonPath, "WSGIBENCH_CHECK_APP="+c.o.App, "WSGIBENCH_CHECK_DIR="+reports)
	if err != nil {
		return nil, err
	}
	argv := []string{c.o.Python, "-m", "gunicorn", "--bind", addr, "--chdir", c.o.Dir,
		"--timeout", "30", "--graceful-timeout", "2", "--log-level", "warning"}
	argv = append(append(argv, workerArgs...), wrapSpec)
	r := &running{addr: addr, log: filepath.Join(dir, "server.log"), reports: reports}
	g, err := proc.Start(ctx, proc.Spec{Name: "gunicorn " + name, Argv: argv, Env: env, Dir: c.o.Dir,
		Tag: c.o.Tag, LogFile: r.log})
	if err != nil {
		return nil, fmt.Errorf("starting gunicorn %s: %w", name, err)
	}
	r.group = g
	if err := proc.WaitHTTP(ctx, g, addr, c.ready, c.o.ReadyTimeout); err != nil {
		g.Kill()
		return nil, fmt.Errorf("gunicorn %s: %w", name, err)
	}
	return r, nil
}

func (r *running) stop() {
	if r != nil && r.group != nil {
		r.group.Stop()
	}
}

// gunicorn logs a request that raised as "Error handling request /path"
// followed by the traceback.
var errorLine = regexp.MustCompile(`Error handling request (\S+)`)

// tracebacks reads the server's output for exceptions the app raised:
// how many, and the last line of the first one (its exception).
func (r *running) tracebacks() (int, string) {
	data, err := os.ReadFile(r.log)
	if err != nil {
		return 0, ""
	}
	lines := strings.Split(string(data), "\n")
	n, first := 0, ""
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "Traceback (most recent call last)") {
			continue
		}
		n++
		if first != "" {
			continue
		}
		// The exception is the first unindented line after the frames.
		for _, m := range lines[i+1:] {
			if m != "" && m[0] != ' ' && m[0] != '\t' {
				first = strings.TrimSpace(m)
				break
			}
		}
		if i > 0 {
			if m := errorLine.FindStringSubmatch(lines[i-1]); m != nil && first != "" {
				first += " (handling " + m[1] + ")"
			}
		}
	}
	return n, first
}
