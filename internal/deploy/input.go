package deploy

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

// Defaults for what a results file cannot know about production. They are
// placeholders a person is expected to read and adjust; the README lists
// them.
const (
	// DefaultListen is loopback: the server sits behind Varnish or nginx on
	// the same machine and must not be reachable from outside.
	DefaultListen    = "127.0.0.1:8000"
	DefaultAppDir    = "/srv/app"
	DefaultConfigDir = "/etc/wsgibench"
	DefaultUser      = "wsgiapp"
	// DefaultPython is used when the results do not name an interpreter: a
	// virtualenv inside the app directory, the common layout.
	DefaultPython     = DefaultAppDir + "/venv/bin/python"
	DefaultHealthPath = "/"
)

// Input is what Generate needs: the server as measured (id, version, shape,
// the settings and command line the benchmark used) and the few facts about
// production that a benchmark cannot know (paths, user, address), which
// default to placeholders.
type Input struct {
	Server   string            // adapter id, e.g. "gunicorn-gthread"
	Version  string            // the server's version as detected
	Shape    results.Shape     // the measured best shape
	Settings map[string]string // results.Run.Settings: what the benchmark configured
	Argv     []string          // results.Run.Argv: the exact command line measured

	App        string            // "module:callable"
	AppDir     string            // the app's directory (working directory and sys.path); default DefaultAppDir
	Python     string            // the interpreter the app runs in; default DefaultPython
	PythonHome string            // the virtualenv's prefix when Python is in one (mod_wsgi python-home, uWSGI virtualenv)
	Env        map[string]string // environment the app needs (e.g. its database path)

	Listen string // production address of the server; default DefaultListen
	// Upstream, when set, is how nginx reaches the server instead of
	// HTTP to Listen: a unix socket, over HTTP (gunicorn) or the uwsgi
	// protocol (uWSGI), the way those servers' experts connect it. The
	// server listens on both; Varnish still uses Listen.
	Upstream   Upstream
	ConfigDir  string // where the generated files are installed; default DefaultConfigDir
	User       string // the unprivileged user the app runs as; default DefaultUser
	Group      string // default: User
	HealthPath string // what the proxy's health probe requests; must answer 200; default "/"

	// Timeouts are the server's connection and request limits. Nil means
	// the ones it was measured with, read from Settings and Argv, falling
	// back to the server's own defaults.
	Timeouts *Timeouts
	// MaxConnections caps the proxy's connections to the server; 0 sizes
	// it from the shape: twice the requests the server runs at once, or
	// its own connection pool for greenlet servers.
	MaxConnections int

	// Evidence is what the recommendation rests on, quoted in the README.
	Evidence Evidence

	// Balance is how evenly the measured workers shared the load
	// (results.Run.Balance), and what the server's remedy did: the config
	// turns the remedy on only when it was measured to help.
	Balance *results.Balance
}

// Upstream is a unix socket nginx reaches the server on.
type Upstream struct {
	Protocol server.Protocol // server.HTTPUnix or server.UWSGI
	Socket   string          // its path
}

// DefaultSocket is where a production config puts the server's unix
// socket for nginx when the benchmark measured one (the benchmark's own
// was in a temporary directory).
const DefaultSocket = "/run/wsgibench/app.sock"

// Timeouts are the server limits the proxy in front must respect.
type Timeouts struct {
	// KeepAlive is how long the server keeps an idle connection open; 0
	// means it never closes idle connections itself.
	KeepAlive time.Duration
	// NoKeepAlive: the server closes the connection after every response
	// (gunicorn's sync worker, wsgiref), so the proxy opens one per request.
	NoKeepAlive bool
	// Request is the longest the server lets a request run before it gives
	// up on it (kills the worker, answers 504); 0 means no limit.
	Request time.Duration
	// Graceful is how long a stop waits for requests in progress; 0 means
	// the server stops at once, dropping them.
	Graceful time.Duration
	// Source says where each value came from, for the README.
	Source string
}

// Evidence is the measurement behind a recommendation.
type Evidence struct {
	Workload    string
	LoadModel   string // closed or open
	Connections int    // concurrent client connections the load generator held
	Rate        float64
	Trials      int
	Summary     *results.Summary
	Capacity    *results.Capacity
	Machine     string // "8 CPUs (model), server on CPUs [..]"
	Measured    time.Time
	Tool        string // the wsgibench version that measured
	Bundled     bool   // measured on wsgibench's reference app, not the user's
	Warnings    []string
	// From the ranking: the place, score and plain-words reasons, and the
	// verdict's one-line answer.
	Position int
	Score    float64
	Reasons  []string
	TiedWith []string
	Headline string
	Profile  string
}

// Recommended is the ranking's first place: the server Generate should be
// given by default. Tied servers share a position; the ranking's order
// decides among them.
func Recommended(f *results.File) (results.Rank, error) {
	if f == nil || len(f.Ranking) == 0 {
		return results.Rank{}, fmt.Errorf("deploy: the results have no ranking to recommend a server from")
	}
	return f.Ranking[0], nil
}

// FromResults finds the ranked run in a results file and builds the Input
// for it: the measured settings and command line, the app and interpreter
// the file records, why it ranked where it did, and placeholders for what
// the file cannot know. A rank with no Workload matches any workload's run
// of that server and shape (the command line does not depend on it).
func FromResults(f *results.File, p results.Rank) (Input, error) {
	if f == nil {
		return Input{}, fmt.Errorf("deploy: no results")
	}
	// The verdict is for the servers behind its front, when it has one:
	// the config recommended is the one measured there.
	front := ""
	if f.Verdict != nil {
		front = f.Verdict.Front
	}
	var run *results.Run
	for i := range f.Runs {
		r := &f.Runs[i]
		if r.Server != p.Server || r.Shape != p.Shape || (p.Workload != "" && r.Workload != p.Workload) {
			continue
		}
		if run != nil && run.Front == front && r.Front != front {
			continue
		}
		if run != nil && run.Front != front && r.Front == front {
			run = r
			continue
		}
		// Prefer a run that recorded its command line and finished.
		if run == nil || (run.Argv == nil && r.Argv != nil) || (run.Error != "" && r.Error == "") {
			run = r
		}
	}
	if run == nil {
		var have []string
		for _, r := range f.Runs {
			have = append(have, r.Key())
		}
		return Input{}, fmt.Errorf("deploy: no run of %s at %s (workload %q) in the results; runs: %s",
			p.Server, p.Shape, p.Workload, strings.Join(have, ", "))
	}
	if run.Error != "" {
		return Input{}, fmt.Errorf("deploy: %s did not run (%s); refusing to write a config for it", run.Key(), run.Error)
	}
	in := Input{
		Server: run.Server, Version: run.Version, Shape: run.Shape,
		Settings: run.Settings, Argv: run.Argv, Balance: run.Balance,
		App: f.Plan.App, AppDir: f.Plan.AppDir,
		Python: f.Python.Executable,
		Evidence: Evidence{
			Workload: run.Workload, LoadModel: run.LoadModel, Connections: run.Connections, Rate: run.Rate,
			Trials: len(run.Trials), Summary: run.Summary, Capacity: run.Capacity,
			Machine: describeMachine(f.Machine), Measured: f.Started, Tool: f.Tool, Bundled: f.Plan.Bundled,
			Position: p.Position, Score: p.Score, Reasons: p.Reasons, TiedWith: p.TiedWith,
		},
	}
	if f.Verdict != nil {
		in.Evidence.Headline, in.Evidence.Profile = f.Verdict.Headline, f.Verdict.Profile
	}
	in.Evidence.Warnings = append(in.Evidence.Warnings, run.Warnings...)
	if run.Summary != nil {
		in.Evidence.Warnings = append(in.Evidence.Warnings, run.Summary.Warnings...)
	}
	if f.Python.Venv {
		in.PythonHome = f.Python.Prefix
	}
	// Measured behind nginx over a unix socket: recommend that, at a
	// production path.
	if run.Front == "nginx" {
		switch {
		case run.Settings["uwsgi-socket"] != "":
			in.Upstream = Upstream{Protocol: server.UWSGI, Socket: DefaultSocket}
		case run.Settings["front_bind"] != "":
			in.Upstream = Upstream{Protocol: server.HTTPUnix, Socket: DefaultSocket}
		}
	}
	if f.Plan.Bundled {
		// The reference app was unpacked into a temporary directory; in
		// production it (or the user's own app) lives somewhere permanent.
		in.AppDir = ""
		in.Env = map[string]string{"WSGIBENCH_DB": DefaultAppDir + "/wsgibench.db"}
	}
	return in, nil
}

func describeMachine(m results.Machine) string {
	if m.CPUs == 0 {
		return ""
	}
	s := fmt.Sprintf("%d CPUs", m.CPUs)
	if m.CPUModel != "" {
		s += " (" + m.CPUModel + ")"
	}
	if len(m.ServerCPUs) > 0 {
		s += fmt.Sprintf(", server pinned to %d of them", len(m.ServerCPUs))
	}
	if m.SharedCPUs {
		s += ", shared with the load generator"
	}
	return s
}

// withDefaults fills the placeholders and checks that every value can be
// written into a config file without quoting surprises.
func (in Input) withDefaults() (Input, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&in.AppDir, DefaultAppDir)
	def(&in.Python, DefaultPython)
	def(&in.Listen, DefaultListen)
	def(&in.ConfigDir, DefaultConfigDir)
	def(&in.User, DefaultUser)
	def(&in.Group, in.User)
	def(&in.HealthPath, DefaultHealthPath)
	if in.Server == "" {
		return in, fmt.Errorf("deploy: no server id")
	}
	if in.App == "" {
		return in, fmt.Errorf("deploy: no app (module:callable)")
	}
	if !strings.Contains(in.App, ":") {
		in.App += ":application"
	}
	if in.Shape.Workers < 1 || in.Shape.Threads < 0 {
		return in, fmt.Errorf("deploy: shape %s is not a measured shape", in.Shape)
	}
	if _, _, err := splitListen(in.Listen); err != nil {
		return in, err
	}
	for name, p := range map[string]string{"app directory": in.AppDir, "python": in.Python,
		"config directory": in.ConfigDir, "python home": in.PythonHome} {
		if p == "" && name == "python home" {
			continue
		}
		if !strings.HasPrefix(p, "/") {
			return in, fmt.Errorf("deploy: %s %q must be an absolute path", name, p)
		}
		// Paths land unquoted in ini files, Apache directives and
		// WSGIDaemonProcess options; refusing the few characters that
		// would need quoting keeps every format simple and safe.
		if i := strings.IndexAny(p, " \t\"'`$%\\;#&|<>(){}*?"); i >= 0 {
			return in, fmt.Errorf("deploy: %s %q contains %q; use a path without spaces or shell/config metacharacters", name, p, p[i])
		}
	}
	for name, v := range map[string]string{"app": in.App, "user": in.User, "group": in.Group, "health path": in.HealthPath} {
		if strings.ContainsAny(v, " \t\"'`$%\\;#&|<>(){}") || hasControl(v) {
			return in, fmt.Errorf("deploy: %s %q contains characters a config file would need to quote", name, v)
		}
	}
	if !strings.HasPrefix(in.HealthPath, "/") {
		return in, fmt.Errorf("deploy: health path %q must start with /", in.HealthPath)
	}
	for k, v := range in.Env {
		if k == "" || strings.ContainsAny(k, "= \t\"'`$%\\") || hasControl(k) || hasControl(v) {
			return in, fmt.Errorf("deploy: environment variable %q=%q cannot be written safely", k, v)
		}
	}
	return in, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// splitListen parses host:port ("[::1]:8000" for IPv6).
func splitListen(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("deploy: listen address %q: %w", s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("deploy: listen address %q: bad port", s)
	}
	if h == "" {
		return "", 0, fmt.Errorf("deploy: listen address %q needs a host (127.0.0.1 behind a proxy)", s)
	}
	return h, port, nil
}
