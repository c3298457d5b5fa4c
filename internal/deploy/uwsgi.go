package deploy

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/server"
)

// uwsgiMode is how the measured uWSGI took HTTP requests. Results files
// keep the command line they were measured with, so a file from an older
// wsgibench re-renders the set-up it measured.
type uwsgiMode int

const (
	// uwsgiRouter: --http starts the HTTP router, an event-driven process
	// that holds the client connections (kept alive with --http-keepalive)
	// and passes each request to a free worker over the uwsgi protocol, on
	// a loopback socket it opens itself. What wsgibench measures.
	uwsgiRouter uwsgiMode = iota
	// uwsgiHTTP11: --http11-socket, every worker thread speaks HTTP/1.1
	// itself and holds one keep-alive connection while it idles. What
	// wsgibench measured before the router.
	uwsgiHTTP11
)

func uwsgiModeOf(argv []string) uwsgiMode {
	for _, a := range argv {
		if a == "--http11-socket" || strings.HasPrefix(a, "--http11-socket=") {
			return uwsgiHTTP11
		}
	}
	return uwsgiRouter
}

// UWSGIRouter reports whether the measured uWSGI ran the HTTP router.
func (p *plan) UWSGIRouter() bool {
	return p.Kind == server.ConfigUWSGI && uwsgiModeOf(p.Argv) == uwsgiRouter
}

const (
	// uwsgiPostBuffering is the post-buffering the generated uwsgi.ini
	// sets for the router (see uwsgiWhy).
	uwsgiPostBuffering = 65536
)

// routerKeepAlive reads --http-keepalive: 0 when absent (the router closes
// the connection after every response), 1 when bare (keep-alive; an idle
// connection closes after http-timeout), N > 1 for --http-keepalive=N (an
// idle connection closes after N seconds). uWSGI declares the option with
// an optional argument, so a value is only ever attached with "=";
// "--http-keepalive 5" would make uWSGI read "5" as a config file.
func routerKeepAlive(argv []string) int {
	n := 0
	for _, a := range argv {
		if a == "--http-keepalive" {
			n = 1
		} else if v, ok := strings.CutPrefix(a, "--http-keepalive="); ok {
			n, _ = strconv.Atoi(v) // uWSGI reads a non-number as 0 too
		}
	}
	return n
}

// uwsgiTimeouts reads uWSGI's limits from the measured command line.
func uwsgiTimeouts(r *reader, argv []string, f server.Facts) Timeouts {
	t := Timeouts{Graceful: f.Graceful.D()}
	if uwsgiModeOf(argv) == uwsgiHTTP11 {
		// --http11-socket keeps a connection open between requests for
		// socket-timeout seconds (default 4), then closes it.
		t.KeepAlive = r.secs("socket-timeout", "--socket-timeout", 4*time.Second, "socket-timeout (idle keep-alive on http11-socket)")
		t.Request = r.secs("harakiri", "--harakiri", 0, "harakiri")
		return t
	}
	// The router has one timeout for its sockets, http-timeout. Measured
	// with uWSGI 2.0.21 (Debian 12), the router in front of 2×2 workers:
	//   - with a bare --http-keepalive, an idle client connection is
	//     closed http-timeout after the end of the last response (60.06 s
	//     with the default; 5.00 s with --http-timeout 5; 3.00 s after a
	//     response that took 2 s under --http-timeout 3, so the clock
	//     starts when the response ends, not when the request began);
	//   - with --http-keepalive=N (N > 1) it is closed N s after the last
	//     response (3.00 s for N=3 under --http-timeout 10);
	//   - a worker that sends nothing for http-timeout makes the router
	//     close the client connection unanswered (a 1.5 s request under
	//     --http-timeout 1: closed after 1.00 s) while the worker runs
	//     on, so http-timeout is also the router's request timeout;
	//   - socket-timeout does not touch the router's client connections
	//     (one idle for 6 s under --socket-timeout 4 still served).
	httpTimeout := r.limit(f.Idle.Timeout)
	switch n := routerKeepAlive(argv); {
	case n == 0:
		t.NoKeepAlive = true
		r.note("no http-keepalive: the HTTP router closes the connection after every response")
	case n == 1:
		t.KeepAlive = httpTimeout
		r.note("http-keepalive (measured): idle connections close after http-timeout")
	default:
		t.KeepAlive = time.Duration(n) * time.Second
		r.note(fmt.Sprintf("http-keepalive %ds (measured: --http-keepalive=%d)", n, n))
	}
	t.Request = httpTimeout
	if h := r.secs("harakiri", "--harakiri", 0, "harakiri"); h > 0 && h < t.Request {
		t.Request = h
	}
	return t
}

// routerDrain is the attach-daemon2 command that keeps the HTTP router up
// through a graceful stop.
//
// uWSGI 2.0.21's graceful stop (gracefully_kill_them_all, which SIGTERM
// runs with the hook-master-start line) tells the workers to finish their
// requests and then, at once, SIGKILLs the router (unbit/uwsgi#2656,
// changed in 2.0.27): the workers finish, but their answers have no
// connection left to go to. Measured: a 1.5 s request in flight during
// SIGTERM got EOF. Before it kills the router the master stops the
// attached daemons and waits for each, polling every second, up to
// reload-mercy. This daemon, on SIGTERM, waits until no worker is left
// (found by the names auto-procname gives) and exits, so the router dies
// only after the workers have handed it their answers. Measured: a 2 s
// request in flight during SIGTERM answered in full; a 20 s one was cut at
// reload-mercy and the master was gone 7 s after SIGTERM.
//
// While it waits it ignores SIGTERM (the master repeats it every second,
// to the daemon's process group, so pgrep and sleep inherit the ignore);
// between stops it exits if the master is gone, so it never outlives a
// killed master. On a reload it is killed at once (reloadsignal=9): a
// reload stops the router before it tells the workers, so waiting would
// only delay it. The command must not contain "," or "=": attach-daemon2
// splits its key=value list on them.
const routerDrain = `trap 'trap "" TERM; while pgrep -P $PPID -f "^uWSGI worker" >/dev/null; do sleep 0.1; done; exit 0' TERM; while kill -0 $PPID 2>/dev/null; do sleep 1; done`

// uwsgiArgs turns the measured uWSGI command line into ini options, with
// the production address, paths and interpreter substituted, and adds the
// options a production stop needs.
func (p *plan) uwsgiArgs() error {
	argv := p.Argv
	if len(argv) == 0 {
		return fmt.Errorf("deploy: no uWSGI command line")
	}
	p.UWSGIBinary = argv[0]
	if !strings.Contains(filepath.Base(argv[0]), "uwsgi") {
		p.UWSGIBinary = "/usr/bin/uwsgi"
	}
	mode := uwsgiModeOf(argv)
	opts := splitOptions(argv[1:])
	var out []arg
	seen := map[string]bool{}
	for _, o := range opts {
		if o.Flag == "" { // a positional argument: uWSGI takes none here
			continue
		}
		name := strings.TrimPrefix(o.Flag, "--")
		o.Flag = name
		switch name {
		case "uwsgi-socket":
			// nginx's uwsgi_pass, measured over a unix socket; without
			// one in the input, the same at a production path.
			o.Value = cmp.Or(p.Upstream.Socket, DefaultSocket)
		case "http11-socket", "http-socket", "socket", "http":
			o.Value = p.Listen
		case "chdir", "pythonpath":
			o.Value = p.AppDir
		case "wsgi", "module":
			o.Value = p.App
		case "virtualenv", "home", "venv":
			if p.PythonHome == "" {
				continue
			}
			o.Value = p.PythonHome
		}
		if !o.HasValue {
			o.Value, o.HasValue = "true", true
			// http-keepalive takes a number: "true" reads as 0, which
			// turns keep-alive off, and the router then closes every
			// connection after the response without saying so.
			if name == "http-keepalive" {
				o.Value = "1"
			}
		}
		if err := iniSafe(o.Value); err != nil {
			return fmt.Errorf("deploy: uwsgi option %s: %w", name, err)
		}
		o.Why = uwsgiWhy[name]
		seen[name] = true
		out = append(out, o)
	}
	// The system uWSGI's Python plugin embeds /usr/bin/python3; a
	// virtualenv made from it is selected with virtualenv=.
	if !seen["virtualenv"] && !seen["home"] && p.PythonHome != "" && (seen["plugin"] || seen["plugins"]) {
		out = append(out, arg{Flag: "virtualenv", Value: p.PythonHome, HasValue: true, Why: uwsgiWhy["virtualenv"]})
	}
	add := func(name, value, why string) {
		if !seen[name] {
			out = append(out, arg{Flag: name, Value: value, HasValue: true, Why: why})
		}
	}
	if p.Upstream.Protocol == server.UWSGI {
		add("uwsgi-socket", p.Upstream.Socket, uwsgiWhy["uwsgi-socket"])
	}
	mercy := strconv.Itoa(wholeSecs(p.T.Graceful))
	if mode == uwsgiHTTP11 {
		add("socket-timeout", strconv.Itoa(wholeSecs(p.T.KeepAlive)),
			"uWSGI's default, written out: on http11-socket it is also how long an idle keep-alive connection stays open, which the proxy's idle timeout must stay under (not changed when measured)")
		add("hook-master-start", "unix_signal:15 gracefully_kill_them_all",
			"not part of the measurement: makes SIGTERM (systemd's stop) finish requests in progress; with die-on-term alone, SIGTERM kills them")
		add("worker-reload-mercy", mercy,
			"not part of the measurement: how long a graceful stop or reload waits for a busy worker")
	} else {
		add("http-timeout", strconv.Itoa(wholeSecs(p.Facts.Idle.Timeout.Default)),
			"uWSGI's default, written out (not changed when measured): the HTTP router closes a keep-alive connection idle this long, which the proxy's idle timeout must stay under, and closes a client's connection unanswered when its worker has sent nothing for this long (the worker runs on)")
		add("post-buffering", strconv.Itoa(uwsgiPostBuffering), uwsgiWhy["post-buffering"])
		add("hook-master-start", "unix_signal:15 gracefully_kill_them_all",
			"not part of the measurement: makes SIGTERM (systemd's stop) a graceful stop in which the workers finish requests in progress; with die-on-term alone, SIGTERM kills them")
		add("worker-reload-mercy", mercy,
			"not part of the measurement: how long a graceful stop or reload waits for a busy worker")
		add("reload-mercy", mercy,
			"not part of the measurement: the longest a graceful stop keeps the HTTP router up for the answers of requests in progress (attach-daemon2 below)")
		add("auto-procname", "true",
			"not part of the measurement: names the processes in ps (uWSGI master, uWSGI worker N, uWSGI http 1); attach-daemon2 below finds the workers by these names")
		add("attach-daemon2", "cmd="+routerDrain+",reloadsignal=9", uwsgiWhy["attach-daemon2"])
	}
	for _, k := range sortedKeys(p.Env) {
		if err := iniSafe(p.Env[k]); err != nil {
			return fmt.Errorf("deploy: environment variable %s for uwsgi.ini: %w", k, err)
		}
		out = append(out, arg{Flag: "env", Value: k + "=" + p.Env[k], HasValue: true, Why: "the app's environment"})
	}
	p.Args = out
	return nil
}

var uwsgiWhy = map[string]string{
	"uwsgi-socket": "the unix socket nginx's uwsgi_pass reaches the workers on, in uWSGI's own protocol (what was measured behind nginx); the HTTP router stays for Varnish and health checks",
	"plugin":       "Debian's uwsgi is a bare binary; the Python plugin (built against /usr/bin/python3) is loaded by name",
	"plugins":      "Debian's uwsgi is a bare binary; the HTTP router and the Python plugin (built against /usr/bin/python3) are plugins, loaded by name",
	"http": "the HTTP router, as measured: a process that holds the clients' connections (here Varnish's or nginx's) and passes each request to a free worker over a loopback socket it opens itself. " +
		"Varnish and nginx's proxy_pass speak HTTP to it; for nginx's uwsgi_pass see README.md",
	"http-keepalive": "keep connections open between requests, as measured. Written as 1, not true: uWSGI reads this option as a number, and true (0) turns keep-alive off",
	"post-buffering": fmt.Sprintf("not part of the measurement: the worker reads the whole request body (up to %d KiB in memory, beyond that in a temporary file) before the app runs. "+
		"Without it, uWSGI 2.0.21's HTTP router resets a kept-alive connection when the app answers without reading the body (a 401 or 413 to an upload), and the proxy's next request on it fails; README.md explains", uwsgiPostBuffering>>10),
	"attach-daemon2": "not part of the measurement: keeps the HTTP router up during a graceful stop until the workers have finished. " +
		"uWSGI 2.0.21 kills the router as soon as a graceful stop begins, before the workers finish, so the answers of requests in progress are lost; " +
		"it stops attached daemons first and waits for them (up to reload-mercy), and this one exits once no worker is left. Needs pgrep (Debian: procps)",
	"http11-socket":      "HTTP/1.1 with keep-alive straight to the workers, no router process in between: what was measured. For nginx's uwsgi_pass use `uwsgi-socket = <addr>` instead (the binary uwsgi protocol); proxy_pass and Varnish need this HTTP socket",
	"master":             "a master process supervises the workers and restarts dead ones",
	"processes":          "worker processes: the measured shape",
	"threads":            "threads per worker: the measured shape",
	"enable-threads":     "without it, threads the application starts itself never run",
	"thunder-lock":       "serialise accept() across processes so one connection wakes one worker",
	"die-on-term":        "SIGTERM stops uWSGI instead of reloading it (the uWSGI 2.0 default reloads)",
	"need-app":           "exit if the app fails to import instead of serving errors",
	"strict":             "refuse unknown options: a typo in this file fails at start, not silently",
	"single-interpreter": "one Python interpreter per worker (no sub-interpreters)",
	"disable-logging":    "no request log, as measured; Varnish can log requests (varnishncsa)",
	"buffer-size":        "largest request header block accepted, bytes",
	"listen":             "accept backlog, as measured; uWSGI refuses to start if it exceeds net.core.somaxconn on this machine",
	"chdir":              "the app's directory",
	"pythonpath":         "added to sys.path so the app's module imports",
	"wsgi":               "the WSGI callable, module:callable",
	"vacuum":             "remove sockets and pid files on exit",
	"virtualenv":         "the virtualenv the app's packages are installed in",
	"harakiri":           "kill a worker whose request runs longer than this (seconds)",
	"lazy-apps":          "load the app in each worker after fork instead of once in the master",
}

// UWSGIHarakiri is the comment under the options, for a command line
// measured without harakiri: what limits a slow request instead.
func (p *plan) UWSGIHarakiri() string {
	if !p.UWSGIRouter() {
		return fmt.Sprintf("Not set when measured, so there is no request timeout: Varnish's first_byte_timeout (%s) is the only limit on a slow request. To kill a worker stuck in a request, uncomment (seconds) and keep Varnish's first_byte_timeout above it:", fmtDur(p.Proxy.FirstByte))
	}
	return fmt.Sprintf("Not set when measured: a slow request is limited only by the HTTP router's http-timeout (%s), after which the router closes the client's connection unanswered (Varnish answers 503) while the worker runs on. To kill a worker stuck in a request and free it, uncomment (seconds) and keep Varnish's first_byte_timeout (%s) above it:",
		fmtDur(p.T.Request), fmtDur(p.Proxy.FirstByte))
}

// UWSGINginxAlt is the comment over nginx.conf's commented-out uwsgi_pass
// location.
func (p *plan) UWSGINginxAlt() string {
	if !p.UWSGIRouter() {
		return "uWSGI alternative: nginx can speak uWSGI's binary protocol. Replace http11-socket with `uwsgi-socket = <address>` in uwsgi.ini and use this location instead (not what was measured):"
	}
	return "uWSGI alternative, for experts: nginx can speak uWSGI's binary protocol itself and do the HTTP router's job. Replace the `http` line of uwsgi.ini with `uwsgi-socket = <address>` (the http-* lines then do nothing, and attach-daemon2, auto-procname and reload-mercy are there only for the router) and use this location instead. That is not what was measured: one process and one hop fewer, and nginx's buffering instead of the router's:"
}

// uwsgiNotes are the README's uWSGI caveats.
func (p *plan) uwsgiNotes() []string {
	if !p.UWSGIRouter() {
		return []string{"uwsgi.ini keeps the measured `http11-socket`, which Varnish and nginx's proxy_pass need. For nginx's `uwsgi_pass` (the binary uwsgi protocol) replace it with `uwsgi-socket`; nginx.conf has the matching location, commented out. That is not what was measured."}
	}
	return []string{
		"uwsgi.ini keeps the measured HTTP router (`http` with `http-keepalive`): Varnish, or nginx with proxy_pass as in nginx.conf, speaks HTTP to it exactly as the benchmark's clients did, and the router passes each request to a worker over the uwsgi protocol on a loopback socket of its own. " +
			"With nginx an expert may drop the router instead: `uwsgi-socket` in place of `http`, and nginx's `uwsgi_pass` (nginx.conf has the location, commented out) does the router's job. That was not measured.",
		fmt.Sprintf("**uWSGI's HTTP router breaks keep-alive when the app answers without reading the whole request body** (a 401, 404 or 413 to an upload): it answers without `Connection: close`, then resets the connection, and the proxy's next request on it fails. "+
			"Varnish answers 503 when that request is a POST it cannot resend: with uWSGI 2.0.21 and keep-alive on, 8 of 100 POSTs of 200 KB through Varnish failed when the app left every second body unread. "+
			"uwsgi.ini therefore sets `post-buffering = %d`, so the worker reads every body before the app runs (bodies above %d KiB go to a temporary file); with it, none failed. "+
			"The benchmark ran without it; for an app that reads its request bodies anyway it changes little.", uwsgiPostBuffering, uwsgiPostBuffering>>10),
		fmt.Sprintf("**uWSGI 2.0.21 (Debian 12) kills its HTTP router the moment a graceful stop begins**, before the workers have finished the requests in progress, so their answers are lost (reported upstream as unbit/uwsgi#2656, changed in 2.0.27). "+
			"The `attach-daemon2` line in uwsgi.ini works around it: uWSGI stops its attached daemons, and waits for them, before it kills the router, and this one exits only once the workers are gone (at most `reload-mercy`, %s). "+
			"It relies on that order, on `auto-procname` and on `pgrep` (Debian: procps); wsgibench's tests check with uWSGI 2.0.21 that a request in progress during the unit's stop is answered. "+
			"Requests that reach the router after the stop began are not answered: for a restart without errors, mark the backend sick in Varnish first (`varnishadm backend.set_health wsgibench_app sick`, and `auto` once it is back). "+
			"A reload (`kill -HUP`) still drops requests in progress; the unit never sends it.", fmtDur(p.T.Graceful)),
	}
}
