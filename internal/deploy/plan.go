package deploy

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/server"
)

// plan is everything the templates need, computed once so that every file
// agrees with the others (the unit starts what the config describes; the
// proxy's timeouts follow the server's).
type plan struct {
	Input
	Family string
	Kind   server.ConfigKind
	// Facts are the server's record: deploy reads its limits, pool,
	// stop and notes from there, never from a table of its own.
	Facts server.Facts
	Model string // the server's concurrency model
	Note  string // the adapter's one-line caveat, if any
	Host  string
	Port  int
	T     Timeouts
	// Capacity is how many requests the server works on at once (0 =
	// unbounded: a thread per connection); CapacityHow says how it follows
	// from the shape.
	Capacity    int
	CapacityHow string
	Proxy       proxyPlan
	Unit        *unitPlan // nil for mod_wsgi: Apache's unit runs it
	Dev         bool      // a development server
	Warnings    []string
	// Args is the measured command line rewritten for production (script
	// and uWSGI families), one option per entry.
	Args []arg
	// MeasuredArgv is the command line as the benchmark ran it, quoted for
	// a comment.
	MeasuredArgv string
	UWSGIBinary  string
	ScriptModule string    // the module after python -m
	Files        []fileDoc // what was written, for the README
}

// arg is one command-line option with the reason it is there.
type arg struct {
	Flag, Value string
	HasValue    bool
	Eq          bool // written --flag=value
	Why         string
}

// proxyPlan is the proxy side (Varnish, nginx) of the server's limits.
type proxyPlan struct {
	Reuse          bool          // the server keeps connections alive
	IdleTimeout    time.Duration // Varnish backend_idle_timeout, nginx upstream keepalive_timeout
	IdleWhy        string
	Connect        time.Duration
	FirstByte      time.Duration
	FirstByteWhy   string
	BetweenBytes   time.Duration
	MaxConnections int
	MaxWhy         string
	NginxKeepalive int // idle connections nginx caches per worker process
	// ProbeRequest, when set, replaces the probe's .url with a raw
	// request (for servers that ignore "Connection: close").
	ProbeRequest   []string
	ProbeWhy       string
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	ProbeWindow    int
	ProbeThreshold int
}

// unitPlan is the systemd service.
type unitPlan struct {
	Type           string
	NotifyAccess   string
	ExecStart      string
	KillSignal     string
	KillSignalWhy  string
	KillMode       string
	KillModeWhy    string
	TimeoutStopSec int
	// Drains: the stop finishes requests in progress (within
	// TimeoutStopSec) instead of dropping them.
	Drains bool
}

type fileDoc struct {
	Name, What, InstallTo string
}

// newPlan derives everything from the Input.
func newPlan(in Input) (*plan, error) {
	in, err := in.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &plan{Input: in}
	a, ok := server.Lookup(in.Server)
	if !ok {
		return nil, fmt.Errorf("deploy: no configuration generator for server %q; supported: %s",
			in.Server, strings.Join(supported(), ", "))
	}
	p.Family, p.Model, p.Note, p.Facts = a.Family, string(a.Model), a.Note, a.Facts
	p.Kind = a.Facts.Deploy.Config
	if p.Kind == server.ConfigNone {
		return nil, fmt.Errorf("deploy: no configuration generator for server %q (its record names no deploy kind); supported: %s",
			in.Server, strings.Join(supported(), ", "))
	}
	p.Host, p.Port, _ = splitListen(in.Listen)
	p.Dev = a.DevOnly != ""
	if len(p.Argv) == 0 {
		// A hand-built Input: use the command line wsgibench would have
		// measured this server with, so the config matches a measurement.
		if err := p.adapterArgv(); err != nil {
			return nil, err
		}
	} else {
		p.MeasuredArgv = shellJoin(p.Argv)
	}
	if in.Timeouts != nil {
		p.T = *in.Timeouts
		if p.T.Source == "" {
			p.T.Source = "as given"
		}
	} else {
		p.T = measuredTimeouts(in, a.Facts)
	}
	p.sizeCapacity()
	p.planProxy()
	if err := p.planFamily(); err != nil {
		return nil, err
	}
	return p, nil
}

// adapterArgv fills Argv and Settings from the server's adapter.
func (p *plan) adapterArgv() error {
	a, ok := server.Lookup(p.Server)
	if !ok {
		return fmt.Errorf("deploy: %s is not a known server and no measured command line was given", p.Server)
	}
	py := server.Python{Executable: p.Python, Prefix: p.PythonHome, BasePrefix: "/usr"}
	if p.PythonHome == "" {
		py.Prefix = "/usr"
	}
	l, err := a.Command(server.Target{
		Python: py, App: p.App, AppDir: p.AppDir, Host: p.Host, Port: p.Port, Dir: p.ConfigDir,
		Tools: server.Tools{"uwsgi": "/usr/bin/uwsgi", "uwsgi-plugin": "python3", "somaxconn": "4096",
			"apache": "/usr/sbin/apache2", "apache-modules": "/usr/lib/apache2/modules", "mod_wsgi": "/usr/lib/apache2/modules/mod_wsgi.so"},
	}, server.Shape(p.Shape))
	if err != nil {
		return fmt.Errorf("deploy: building %s's command line: %w", p.Server, err)
	}
	p.Argv = l.Argv
	if p.Settings == nil {
		p.Settings = l.Settings
	}
	return nil
}

// sizeCapacity works out how many requests the server runs at once, from
// its record and the measured shape.
func (p *plan) sizeCapacity() {
	p.Capacity, p.CapacityHow = p.Facts.Capacity(server.Shape(p.Shape))
}

// atoi is strconv.Atoi that reads anything else as 0.
func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// supported lists the servers Generate has a generator for.
func supported() []string {
	var out []string
	for _, a := range server.All() {
		if a.Facts.Deploy.Config != server.ConfigNone {
			out = append(out, a.ID)
		}
	}
	return out
}

// Probe settings: a probe every 5 s, sick after 3 failures out of the last
// 5, healthy from the start. The timeout is short because a probe that
// takes 2 s on loopback means the server is already queueing.
const (
	probeInterval  = 5 * time.Second
	probeTimeout   = 2 * time.Second
	probeWindow    = 5
	probeThreshold = 3
	// varnishIdleDefault is Varnish's own backend_idle_timeout.
	varnishIdleDefault = 60 * time.Second
	// fetchDefault is what the proxy waits for a first byte when the server
	// has no request timeout of its own (Varnish's default).
	fetchDefault = 60 * time.Second
)

func (p *plan) planProxy() {
	x := proxyPlan{Connect: time.Second, ProbeInterval: probeInterval, ProbeTimeout: probeTimeout,
		ProbeWindow: probeWindow, ProbeThreshold: probeThreshold}
	t := p.T
	switch {
	case t.NoKeepAlive:
		x.IdleTimeout = varnishIdleDefault
		x.IdleWhy = "the server closes every connection after one response, so no backend connection is ever idle; Varnish's default is kept"
	case t.KeepAlive == 0:
		x.IdleTimeout = varnishIdleDefault
		x.IdleWhy = "the server never closes an idle connection itself, so Varnish's default (60 s) cannot race it"
	default:
		x.Reuse = true
		// Whole seconds below the server's keep-alive: the proxy closes
		// first, so it never sends a request down a connection the server
		// is closing. Varnish's minimum is 1 s.
		idle := (t.KeepAlive - time.Second).Truncate(time.Second)
		if idle < time.Second {
			idle = time.Second
		}
		x.IdleTimeout = idle
		x.IdleWhy = fmt.Sprintf("shorter than the server's keep-alive (%s), so Varnish closes an idle connection before the server does", fmtDur(t.KeepAlive))
		if idle >= t.KeepAlive {
			p.Warnings = append(p.Warnings, fmt.Sprintf(
				"the server's keep-alive (%s) is not longer than Varnish's minimum backend_idle_timeout (1s): raise the server's keep-alive to at least 2 s, or idle connections will race and give 503s",
				fmtDur(t.KeepAlive)))
		}
	}
	if t.NoKeepAlive || t.KeepAlive == 0 {
		x.Reuse = !t.NoKeepAlive
	}
	if t.Request > 0 {
		// A little longer than the server's limit, so the server's own
		// timeout (a killed worker, a 504) is what the client sees, and
		// Varnish never abandons a request the server is still running.
		x.FirstByte = t.Request + 5*time.Second
		x.FirstByteWhy = fmt.Sprintf("the server's request timeout (%s) plus 5 s, so the server's own timeout is what clients see and the proxy never abandons a request the server is still running", fmtDur(t.Request))
		x.BetweenBytes = max(t.Request, fetchDefault)
	} else {
		x.FirstByte = fetchDefault
		x.FirstByteWhy = "Varnish's default (60 s); the server has no request timeout of its own, so this is the only limit on a slow request, and the server keeps working on a request after the proxy gives up"
		x.BetweenBytes = fetchDefault
	}
	switch {
	case p.MaxConnections > 0:
		x.MaxConnections, x.MaxWhy = p.MaxConnections, "as configured"
	case p.Capacity > 0 && p.Facts.Pool.Size > 0:
		x.MaxConnections = p.Capacity
		x.MaxWhy = fmt.Sprintf("the server's own connection limit: %s", p.CapacityHow)
	case p.Capacity > 0:
		x.MaxConnections, x.MaxWhy = queueLimit(p)
	default:
		n := p.Evidence.Connections
		if n <= 0 {
			n = 100
		}
		x.MaxConnections = n
		x.MaxWhy = fmt.Sprintf("the server starts a thread per connection and has no limit of its own; %d is the concurrency it was measured at", n)
		if p.Evidence.Connections <= 0 {
			x.MaxWhy = "the server starts a thread per connection and has no limit of its own; 100 is a placeholder"
		}
	}
	x.NginxKeepalive = min(max(x.MaxConnections, 2), 128)
	if p.Kind == server.ConfigUWSGI && uwsgiModeOf(p.Argv) == uwsgiHTTP11 {
		// Varnish's probe reads its answer until the server closes the
		// connection. uWSGI's http11-socket ignores the probe's
		// "Connection: close" and holds the connection for socket-timeout,
		// longer than the probe's timeout: with .url the backend never
		// turns healthy. An HTTP/1.0 request is closed at once.
		host := p.Host
		if p.IPv6() {
			host = "[" + host + "]"
		}
		x.ProbeRequest = []string{"GET " + p.HealthPath + " HTTP/1.0", "Host: " + host, "Connection: close"}
		x.ProbeWhy = fmt.Sprintf("The probe sends an HTTP/1.0 request rather than using .url: Varnish reads a probe's answer until the connection closes, and uWSGI's http11-socket ignores \"Connection: close\" on HTTP/1.1 requests, holding the connection for socket-timeout (%s), longer than the probe timeout, so a .url probe never passes. If the app checks the Host header (Django's ALLOWED_HOSTS), allow this one.", fmtDur(p.T.KeepAlive))
	}
	p.Proxy = x
}

// planFamily fills the family-specific parts: the rewritten command line
// and the systemd unit.
func (p *plan) planFamily() error {
	st := p.Facts.Deploy.Stop
	graceful := strings.NewReplacer("{graceful}", fmtDur(p.T.Graceful))
	u := &unitPlan{Type: "exec", KillSignal: "SIGTERM", KillMode: "control-group",
		KillModeWhy:   "the stop signal goes to every process of the service",
		KillSignalWhy: "the server stops on SIGTERM", Drains: st.Drains}
	if st.Signal != "" {
		u.KillSignal = st.Signal
	}
	if st.SignalWhy != "" {
		u.KillSignalWhy = graceful.Replace(st.SignalWhy)
	}
	if st.Main {
		u.KillMode = "mixed"
	}
	if st.ModeWhy != "" {
		u.KillModeWhy = graceful.Replace(st.ModeWhy)
	}
	cfg := func(name string) string { return filepath.Join(p.ConfigDir, name) }
	switch p.Kind {
	case server.ConfigGunicorn:
		u.ExecStart = shellJoin([]string{p.Python, "-m", "gunicorn", "-c", cfg("gunicorn.conf.py"), p.App})
		// gunicorn's arbiter reports READY=1 to systemd since 20.0.
		if major, _, _ := strings.Cut(p.Version, "."); atoi(major) >= 20 || p.Version == "" {
			u.Type = "notify"
		}
	case server.ConfigUWSGI:
		if err := p.uwsgiArgs(); err != nil {
			return err
		}
		u.ExecStart = shellJoin([]string{p.UWSGIBinary, "--ini", cfg("uwsgi.ini")})
		u.Type, u.NotifyAccess = "notify", "all" // uWSGI's master reports READY=1
		if p.UWSGIRouter() {
			// Measured: the router, too, exits at once on a SIGTERM of
			// its own (a request in flight got EOF after 0.3 s), and
			// without the drain daemon a graceful stop kills it first.
			u.KillModeWhy = "SIGTERM to the master only: a uWSGI worker or HTTP router that gets SIGTERM itself exits at once, dropping the requests it holds"
			u.KillSignalWhy = fmt.Sprintf("with the hook-master-start and attach-daemon2 lines in uwsgi.ini, SIGTERM is a graceful stop: the workers finish requests in progress (up to %s) and the HTTP router stays up until their answers are out; plain die-on-term would kill them", fmtDur(p.T.Graceful))
		}
	case server.ConfigApache:
		u = nil
	case server.ConfigScript:
		if err := p.scriptArgs(); err != nil {
			return err
		}
		u.ExecStart = shellJoin([]string{cfg(p.Family + ".sh")})
	case server.ConfigRunner:
		u.ExecStart = shellJoin([]string{p.Python, cfg("serve.py")})
	}
	if u != nil {
		u.TimeoutStopSec = max(10, wholeSecs(p.T.Graceful)+5)
	}
	p.Unit = u
	return nil
}

// scriptArgs rewrites a measured command line (python -m server ...) for
// production: the interpreter, address, app directory and app are
// substituted; every other option is kept as measured.
func (p *plan) scriptArgs() error {
	argv := p.Argv
	if len(argv) < 3 || argv[1] != "-m" {
		return fmt.Errorf("deploy: %s's measured command line %q is not `python -m <server> ...`", p.Server, p.MeasuredArgv)
	}
	p.ScriptModule = argv[2]
	var out []arg
	// The app is the last word: module:callable, or wsgibench's
	// WSGI-to-ASGI bridge, shipped beside the script (hypercorn).
	app := argv[len(argv)-1]
	if !p.Facts.Deploy.Bridge {
		app = p.App
	}
	for _, o := range splitOptions(argv[3 : len(argv)-1]) {
		switch o.Flag {
		case "--bind":
			if strings.HasPrefix(o.Value, "unix:") {
				// The socket nginx was measured over.
				o.Value = "unix:" + cmp.Or(p.Upstream.Socket, DefaultSocket)
			} else {
				o.Value = p.Listen
			}
		case "--listen":
			o.Value = p.Listen
		case "--host":
			o.Value = p.Host
		case "--port":
			o.Value = strconv.Itoa(p.Port)
		case "--chdir", "--app-dir":
			o.Value = p.AppDir
		}
		o.Why = scriptWhy[o.Flag]
		out = append(out, o)
	}
	p.Args = append(out, arg{Value: app, HasValue: true, Why: "the WSGI app, module:callable"})
	return nil
}

var scriptWhy = map[string]string{
	"--listen":               "the production address (behind the proxy)",
	"--bind":                 "the production address (behind the proxy)",
	"--host":                 "the production address (behind the proxy)",
	"--port":                 "the production port",
	"--threads":              "worker threads: the measured shape",
	"--max-threads":          "a fixed pool: as many threads as the minimum",
	"--workers":              "processes: the measured shape",
	"--connection-limit":     "most simultaneous connections (waitress's default of 100 queues clients beyond that)",
	"--backlog":              "listen backlog: connections the kernel holds while every worker is busy",
	"--request-queue-size":   "listen backlog: connections the kernel holds while every thread is busy",
	"--channel-timeout":      "close connections idle this long (checked every 30 s); the proxy's idle timeout is shorter",
	"--asyncore-use-poll":    "poll() instead of select(), which fails past 1024 file descriptors",
	"--no-expose-tracebacks": "never send Python tracebacks to clients",
	"--chdir":                "the app's directory",
	"--app-dir":              "the app's directory, added to sys.path",
	"--interface":            "serve a WSGI app",
	"--timeout-keep-alive":   "idle keep-alive, seconds; the proxy's idle timeout is shorter",
	"--keep-alive":           "idle keep-alive, seconds; the proxy's idle timeout is shorter",
	"--no-access-log":        "no request log, as measured; Varnish can log requests (varnishncsa)",
	"--log-level":            "only warnings and errors",
	"--blocking-threads":     "threads running the WSGI app per worker: the measured shape",
	"--no-ws":                "no WebSocket support (a WSGI app cannot use it)",
}

// splitOptions groups command-line options: "--flag value", "--flag=value"
// and a bare "--flag" (followed by another option or nothing). The command
// lines measured have no positionals among their options; the app, when
// there is one, is the last word and is split off by the caller.
func splitOptions(argv []string) []arg {
	var out []arg
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			out = append(out, arg{Value: a, HasValue: true})
			continue
		}
		if f, v, ok := strings.Cut(a, "="); ok {
			out = append(out, arg{Flag: f, Value: v, HasValue: true, Eq: true})
			continue
		}
		if i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
			out = append(out, arg{Flag: a, Value: argv[i+1], HasValue: true})
			i++
			continue
		}
		out = append(out, arg{Flag: a})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Text is the option as written on a command line.
func (a arg) Text() string {
	switch {
	case a.Flag == "":
		return a.Value
	case !a.HasValue:
		return a.Flag
	case a.Eq:
		return a.Flag + "=" + a.Value
	}
	return a.Flag + " " + a.Value
}

// iniSafe refuses values uWSGI would expand when reading its ini file:
// $(VAR) is an environment variable and @(path) a file's contents, with no
// escape for either. (% is escaped as %% when written.)
func iniSafe(v string) error {
	if strings.Contains(v, "$(") || strings.Contains(v, "@(") {
		return fmt.Errorf("%q contains $( or @(, which uWSGI expands in ini files", v)
	}
	return nil
}

// iniValue escapes % for uWSGI, whose ini reader treats %x as a magic
// variable (a trailing % even swallows the line break and the next option).
func iniValue(v string) string { return strings.ReplaceAll(v, "%", "%%") }

// queueLimit sizes the proxy's connection cap for a server with a fixed
// number of workers. Varnish and open-source nginx have no queue behind
// the cap: a request over it fails at once (503, 502). So the cap must let
// through every request the server can still answer in time, or it turns
// a load the server handles into errors (measured: gunicorn-gthread 2×4
// with 32 clients served 1,798 req/s with no error directly, and behind a
// cap of twice its threads Varnish answered 1,490 requests with 503).
// By Little's law, the requests that can be in the system while each still
// meets the latency goal are the capacity at that goal times the goal; the
// kernel's backlog holds the ones waiting for a worker. Without a capacity
// search, the concurrency it was measured at is known to be served.
func queueLimit(p *plan) (int, string) {
	floor := 2 * p.Capacity
	if c := p.Evidence.Capacity; c != nil && c.RPS > 0 && c.GoalP99MS > 0 {
		n := int(math.Ceil(c.RPS * c.GoalP99MS / 1000))
		if n > floor {
			return n, fmt.Sprintf("what the server answers within the %.0f ms latency goal: its measured capacity at that goal (%.0f req/s) × the goal, by Little's law, so every request it can still serve in time gets through and the rest fail fast (Varnish 503, nginx 502) instead of waiting; the kernel's backlog holds those waiting for one of its %d workers (%s)",
				c.GoalP99MS, c.RPS, p.Capacity, p.CapacityHow)
		}
	}
	if n := p.Evidence.Connections; n > floor {
		return n, fmt.Sprintf("the %d concurrent clients it was measured serving; it runs %d at once (%s) and the kernel's backlog holds the rest, which a smaller cap would turn into errors (Varnish and nginx fail a request over the cap at once)",
			n, p.Capacity, p.CapacityHow)
	}
	return floor, fmt.Sprintf("twice what the server runs at once (%s = %d): one request in progress and one waiting per worker thread; beyond that the proxy fails fast (Varnish 503, nginx 502) instead of queueing in the kernel's backlog", p.CapacityHow, p.Capacity)
}
