package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Facts are what a server is, apart from how its command line is spelled:
// one typed record per server that launch (Adapter.Command), deploy
// (internal/deploy) and a front's configuration (Varnish, nginx) all read,
// so that none of them keeps a table or a switch of its own and adding a
// server stays one file. Durations are durations and counts are ints:
// nothing reads a number back out of a display string.
type Facts struct {
	// Scale is how a requested shape maps onto the server.
	Scale Scale
	// FixedThreads is a thread pool size the server decides itself
	// (uvicorn's WSGI pool), or PerConnection; 0 means the shape decides.
	FixedThreads int
	// Pool, when its Size is set, bounds the requests one process runs at
	// once instead of threads: a greenlet pool.
	Pool Pool
	// Backlog is the listen backlog launch asks for (the kernel caps it at
	// net.core.somaxconn); 0 leaves the server's own.
	Backlog int
	// ConnectionLimit is the most connections the server holds open at
	// once, when it has a limit of its own besides Pool; 0 means none.
	ConnectionLimit int

	// Idle is when the server closes a kept-alive connection.
	Idle Idle
	// Request is the longest the server lets a request run before it
	// gives up on it (kills the worker, closes the connection); 0: none.
	Request Limit
	// Graceful is how long a stop waits for requests in progress; 0: the
	// server stops at once.
	Graceful Limit
	// Notes are further sentences about those limits, for the deploy
	// README (e.g. "waitress has no request timeout").
	Notes []string

	// Front lists how a front (nginx, Varnish) can reach the server, the
	// way its experts connect it first. Varnish speaks HTTP only.
	Front []Reach
	// Reload is how the server reloads the app without dropping
	// connections, if it can.
	Reload Reload

	// Deploy is what the deploy generator needs beyond the limits above.
	Deploy Deploy

	// Workers says which processes of the tree run the app, and what the
	// server offers when they are unevenly loaded.
	Workers Workers
}

// Workers tells the processes that run the app (whose CPU shares show
// whether load is spread evenly) from the main process and helpers, and
// names the server's remedy for uneven load.
type Workers struct {
	// Cmd, when set, is a substring of a worker's command line
	// (/proc/PID/cmdline): mod_wsgi's daemon processes are "(wsgi:…)"
	// beside Apache's own children. "" means every process but the main
	// one is a worker (or the main one, when it is alone).
	Cmd string
	// Helpers is how many processes besides the main one run no app
	// code but cannot be told from the workers by command line (uWSGI's
	// HTTP router); HelpersWhy names them. The busiest processes are taken
	// for them, which can only make the workers look more even: a flag
	// then still means uneven.
	Helpers    int
	HelpersWhy string
	// Remedy is the server's option against uneven load; zero when it
	// has none (or launch always applies it, as uWSGI's --thunder-lock).
	Remedy Remedy
}

// Remedy is a server option meant to spread connections more evenly over
// worker processes. wsgibench measures a cell flagged uneven again with it
// and records what changed; deploy recommends it only when that
// measurement shows it helped.
type Remedy struct {
	// Argv is appended to the launch command line ("--reuse-port").
	Argv []string
	// Setting and Value are how a config file spells it (gunicorn.conf.py
	// reuse_port = True).
	Setting, Value string
	// What says what it does, for the report.
	What string
}

// Has says whether the server offers a remedy.
func (r Remedy) Has() bool { return len(r.Argv) > 0 }

// Scale is which dimensions of a requested shape a server honours.
type Scale int

// The scales.
const (
	ScaleNone      Scale = iota // neither: 1 process, FixedThreads (or 1)
	ScaleProcesses              // processes; threads are FixedThreads (or 1)
	ScaleThreads                // one process; the requested total concurrency as threads
	ScaleBoth                   // processes × threads as requested
)

func (s Scale) String() string {
	return [...]string{"fixed", "process-only", "thread-only", "processes×threads"}[s]
}

// Pool is a per-process bound on concurrent requests that is not a thread
// count: gunicorn's worker_connections, gevent's Pool, eventlet's max_size.
type Pool struct {
	Size int
	// Unit is what one slot is ("greenlets", "green threads").
	Unit string
	// Setting is the server's option for it ("worker_connections") when it
	// has one; "" for a pool our runner sizes.
	Setting string
}

// IdleClose is when a server closes a kept-alive connection.
type IdleClose int

// The ways a server ends a kept-alive connection.
const (
	// CloseWhenIdle: it closes a connection idle for Idle.Timeout.
	CloseWhenIdle IdleClose = iota
	// CloseAfterResponse: no keep-alive; every response ends its
	// connection (gunicorn's sync worker, wsgiref, werkzeug), so a front
	// opens a backend connection per request.
	CloseAfterResponse
	// CloseNever: it never closes an idle connection itself (or only
	// after an hour or more, longer than any front keeps one), so a
	// front's own idle timeout cannot race it.
	CloseNever
)

// Idle says whether and when a server closes kept-alive connections. A
// front must drop an idle backend connection before the server does, or
// the request it sends down it at that moment fails.
type Idle struct {
	Close IdleClose
	// Timeout is the idle timeout for CloseWhenIdle. For the other kinds
	// it is still set when launch passes the option (gunicorn's sync
	// worker gets --keep-alive like the others; it does not apply).
	Timeout Limit
	// Note explains Close when it is not CloseWhenIdle, for the README.
	Note string
}

// Limit is one of a server's time limits: the value launch sets, and the
// server's own default when launch leaves it alone (or when a results file
// from an older command line did not set it).
type Limit struct {
	// Set is what launch passes; 0: launch does not set it.
	Set time.Duration
	// Default is the server's own value when nothing sets it; 0: none.
	Default time.Duration
	// What names it in notes ("keep-alive", "channel-timeout"). Empty
	// makes the limit a fixed fact deploy uses without a note (a graceful
	// window our serve.py sets, a value assumed for lack of a setting).
	What string
	// Key and Flag are where launch records it: the Settings key and the
	// command-line flag. deploy takes a measured value from there first,
	// so a results file re-renders what actually ran.
	Key, Flag string
}

// D is the value in effect when launch runs the server.
func (l Limit) D() time.Duration {
	if l.Set > 0 {
		return l.Set
	}
	return l.Default
}

// Secs is the value launch writes: whole seconds as "5", else "2.5".
func (l Limit) Secs() string { return Secs(l.D()) }

// Secs writes a duration as seconds for a command line or config.
func Secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Protocol is how a front talks to a server.
type Protocol string

// The protocols.
const (
	HTTP     Protocol = "http"      // HTTP/1.1 over TCP
	HTTPUnix Protocol = "http+unix" // HTTP/1.1 over a unix socket (nginx proxy_pass http://unix:…)
	UWSGI    Protocol = "uwsgi"     // uWSGI's binary protocol (nginx uwsgi_pass); one request per connection
)

// Reach is one way a front can reach the server.
type Reach struct {
	Protocol Protocol
	// KeepAlive: the front can reuse a connection for further requests.
	KeepAlive bool
}

// Reload is how a server swaps in new application code without closing
// its listening socket.
type Reload struct {
	Signal string // e.g. SIGHUP; "" when no signal does it
	Other  string // other ways (uWSGI's touch-reload file, its master FIFO)
}

func (r Reload) String() string {
	switch {
	case r.Signal == "" && r.Other == "":
		return "none"
	case r.Other == "":
		return r.Signal
	case r.Signal == "":
		return r.Other
	}
	return r.Signal + "; " + r.Other
}

// ConfigKind is the server's own configuration file in a deployment.
type ConfigKind int

// The kinds of deployment; the zero value means deploy cannot write one.
const (
	ConfigNone     ConfigKind = iota
	ConfigGunicorn            // gunicorn.conf.py
	ConfigUWSGI               // uwsgi.ini
	ConfigApache              // an Apache site + .wsgi file; Apache's own unit runs it
	ConfigScript              // the measured `python -m server …` command line as a shell script
	ConfigRunner              // serve.py, the runner script written for production
)

// Deploy is what a deployment needs to know beyond the limits.
type Deploy struct {
	Config ConfigKind
	// Stop is how systemd stops it.
	Stop Stop
	// Bridge: the app is served through wsgibench's WSGI-to-ASGI bridge,
	// which the deployment ships beside the script (hypercorn).
	Bridge bool
	// Notes are the README's sentences on this server.
	Notes []string
}

// Stop is the systemd stop: the signal, who gets it and whether requests
// in progress finish. "{graceful}" in a reason stands for the Graceful
// limit in effect.
type Stop struct {
	Signal    string // default SIGTERM
	SignalWhy string
	// Main: the signal goes to the main process only (KillMode=mixed); it
	// stops its workers itself. Otherwise every process gets it.
	Main    bool
	ModeWhy string // why; "" for the plain "every process" case
	// Drains: the stop finishes requests in progress.
	Drains bool
}

// Effective maps a requested shape onto what the server can do, by one
// rule: every server is offered the same concurrency, workers × threads,
// in whatever unit it has. A server without processes gets it as threads
// (waitress offered 3×1 runs 1×3); a server whose processes serve one
// request at a time gets it as processes (gunicorn-sync offered 2×8 runs
// 16×1, not a 2×1 nobody would deploy); a server whose processes bring
// their own concurrency (a greenlet pool, a fixed thread pool) keeps the
// processes asked for; a server that has neither runs as it must.
func (f Facts) Effective(req Shape) Shape {
	w, t := max(req.Workers, 1), max(req.Threads, 1)
	switch f.Scale {
	case ScaleBoth:
		return Shape{w, t}
	case ScaleProcesses:
		if f.FixedThreads == 0 && f.Pool.Size == 0 {
			return Shape{w * t, 1}
		}
		return Shape{w, f.threadsOr(1)}
	case ScaleThreads:
		return Shape{1, w * t}
	default:
		return Shape{1, f.threadsOr(1)}
	}
}

func (f Facts) threadsOr(n int) int {
	switch {
	case f.FixedThreads > 0:
		return f.FixedThreads
	case f.FixedThreads == PerConnection:
		return 0
	}
	return n
}

// Capacity is how many requests the server works on at once at shape s,
// and how that follows from the shape; 0 means no limit of its own (a
// thread per connection).
func (f Facts) Capacity(s Shape) (int, string) {
	w, t := s.Workers, s.Threads
	switch {
	case f.Pool.Size > 0 && f.Pool.Setting != "":
		return w * f.Pool.Size, fmt.Sprintf("%d workers × %d %s (%s)", w, f.Pool.Size, f.Pool.Setting, f.Pool.Unit)
	case f.Pool.Size > 0:
		return w * f.Pool.Size, fmt.Sprintf("a pool of %d %s", f.Pool.Size, f.Pool.Unit)
	case t == 0:
		return 0, "a new thread per connection, no limit"
	case w == 1:
		return t, plural(t, "thread", "threads") + " in one process"
	}
	return w * t, plural(w, "process", "processes") + " × " + plural(t, "thread", "threads")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// httpOnly is how a front reaches a server that speaks nothing but HTTP
// over TCP.
func httpOnly(keepAlive bool) []Reach { return []Reach{{HTTP, keepAlive}} }

// dashed turns a setting name into its flag spelling (worker_connections →
// worker-connections).
func dashed(s string) string { return strings.ReplaceAll(s, "_", "-") }

// NginxReach is how nginx reaches the server in its experts' deployments:
// the record's first Front reach. ok is false when that is plain HTTP over
// TCP, which needs no socket of its own.
func (f Facts) NginxReach() (r Reach, ok bool) {
	if len(f.Front) == 0 || f.Front[0].Protocol == HTTP {
		return Reach{}, false
	}
	return f.Front[0], true
}
