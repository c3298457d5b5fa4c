package server

import (
	"fmt"
	"time"
)

// pythonExitsStop is the stop of a runner server with no graceful stop of
// its own.
var pythonExitsStop = Stop{SignalWhy: "Python exits at once on SIGTERM, dropping requests in progress (the server has no graceful stop)"}

// neverCloses is a server that keeps an idle connection open forever.
func neverCloses(name string) Idle {
	return Idle{Close: CloseNever, Note: name + " never closes an idle keep-alive connection itself"}
}

// Servers started through a runner script (runners/<name>.py) because their
// command line, if any, cannot bind a port and size a pool. Each runner's
// values (backlog, pool, keep-alive) are the ones in its Facts, and deploy's
// serve_<name>.py.tmpl must set what the runner sets: TestRunnersMatchDeploy
// in internal/deploy checks both.
func init() {
	type rs struct {
		id      string
		model   Model
		lang    string
		modules []string
		note    string
		facts   Facts
		// settings are what the runner configures, for the results.
		settings map[string]string
	}
	devOnly := map[string]string{
		"werkzeug": "werkzeug's own documentation says its server is for development only",
		"wsgiref":  "a reference implementation, not a production server: it serves one request at a time, so one slow client stalls every other",
	}
	// serve.py (deploy) gives requests in progress this long on SIGTERM;
	// the benchmark's runners never stop gracefully.
	serveGraceful := Limit{Default: 5 * time.Second}
	gevent := Facts{
		Pool: Pool{Size: 1000, Unit: "greenlets"}, Backlog: 1024,
		Idle: neverCloses("gevent.pywsgi"), Graceful: serveGraceful, Front: httpOnly(true),
		Deploy: Deploy{Config: ConfigRunner, Stop: Stop{
			SignalWhy: "serve.py stops the gevent server gracefully on SIGTERM (stops accepting, waits up to {graceful} for requests in progress)", Drains: true}},
	}
	eventlet := Facts{
		Pool: Pool{Size: 1000, Unit: "green threads"}, Backlog: 1024,
		Idle: neverCloses("eventlet"), Front: httpOnly(true),
		Deploy: Deploy{Config: ConfigRunner, Stop: pythonExitsStop},
	}
	// Twisted Web's Site closes a connection idle for its timeout, 60 s
	// since Twisted 16.x (measured with Debian 12's 22.4.0: 60.01 s);
	// older versions waited 12 hours.
	twisted := Facts{
		Scale: ScaleThreads, Backlog: 1024,
		Idle:     Idle{Close: CloseWhenIdle, Timeout: Limit{Default: 60 * time.Second, What: "idle keep-alive (twisted.web Site's timeout)"}},
		Graceful: serveGraceful, Front: httpOnly(true),
		Deploy: Deploy{Config: ConfigRunner, Stop: Stop{
			SignalWhy: "serve.py stops gracefully on SIGTERM (stops accepting, waits up to {graceful} for requests in progress); Twisted's own SIGTERM handling deadlocks when a WSGI request is in progress",
			Drains:    true}},
	}
	// tornado's idle_connection_timeout defaults to 3600 s.
	tornado := Facts{
		Scale: ScaleProcesses, Backlog: 1024,
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Set: 5 * time.Second, Default: time.Hour,
			What: "idle_connection_timeout", Key: "idle_connection_timeout"}},
		Front: httpOnly(true),
		// Forked processes share one socket, and each accepts up to 128
		// connections per wake-up (measured: one of six processes took
		// every keep-alive client in every trial).
		Workers: Workers{Remedy: Remedy{Argv: []string{"--reuse-port"}, Setting: "REUSE_PORT", Value: "True",
			What: "each forked process binds its own socket with SO_REUSEPORT, so the kernel spreads new connections over the processes"}},
		Deploy: Deploy{Config: ConfigRunner, Stop: Stop{
			SignalWhy: "Python exits at once on SIGTERM, dropping requests in progress (WSGIContainer has no graceful stop)",
			ModeWhy:   "the stop signal goes to every process: tornado's forked children do not stop when the parent does"}},
	}
	paste := Facts{
		Scale: ScaleThreads, Backlog: 1024,
		Idle: neverCloses("paste"), Front: httpOnly(true),
		Deploy: Deploy{Config: ConfigRunner, Stop: pythonExitsStop},
	}
	werkzeug := Facts{
		FixedThreads: PerConnection, Backlog: 128, // werkzeug.serving.LISTEN_QUEUE
		Idle: Idle{Close: CloseAfterResponse,
			Note: "werkzeug's development server sends Connection: close on every response (werkzeug 2.2 does; older versions kept connections open, which Varnish's settings here also suit)"},
		Front:  httpOnly(false),
		Deploy: Deploy{Config: ConfigRunner, Stop: pythonExitsStop},
	}
	wsgiref := Facts{
		Backlog: 1024,
		Idle:    Idle{Close: CloseAfterResponse, Note: "wsgiref speaks HTTP/1.0 and closes the connection after every response"},
		Front:   httpOnly(false),
		Deploy:  Deploy{Config: ConfigRunner, Stop: pythonExitsStop},
	}
	bjoern := Facts{
		Idle: neverCloses("bjoern"), Front: httpOnly(true),
		Deploy: Deploy{Config: ConfigRunner, Stop: pythonExitsStop},
	}
	meinheld := Facts{
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Set: 5 * time.Second, Default: 5 * time.Second,
			What: "keepalive", Key: "keepalive"}},
		Front:  httpOnly(true),
		Deploy: Deploy{Config: ConfigRunner, Stop: pythonExitsStop},
	}
	for _, r := range []rs{
		{"gevent", Greenlet, "Python + C (libev, greenlet)", []string{"gevent", "gevent.pywsgi"},
			"", gevent, map[string]string{"monkey_patch": "all", "spawn": fmt.Sprintf("Pool(%d)", gevent.Pool.Size), "log": "off", "tcp_nodelay": "on (set by wsgibench, as gunicorn does)"}},
		{"eventlet", Greenlet, "Python (greenlet)", []string{"eventlet", "eventlet.wsgi"},
			"", eventlet, map[string]string{"monkey_patch": "all", "max_size": fmt.Sprint(eventlet.Pool.Size), "keepalive": "true", "log_output": "off"}},
		{"twisted", Thread, "Python (Twisted reactor + thread pool)", []string{"twisted.web.wsgi"},
			"", twisted, map[string]string{"threadpool": "reactor.suggestThreadPoolSize", "access_log": "off"}},
		{"tornado", EventLoop, "Python (IOLoop; WSGI runs inline, blocking the loop)", []string{"tornado.wsgi"},
			"WSGIContainer runs each request on the IOLoop thread; tornado scales by forking processes", tornado,
			map[string]string{tornado.Idle.Timeout.Key: tornado.Idle.Timeout.Secs(), "access_log": "off"}},
		{"paste", Thread, "Python", []string{"paste.httpserver"},
			"", paste, map[string]string{"protocol_version": "HTTP/1.1", "use_threadpool": "true", "access_log": "off", "tcp_nodelay": "on (set by wsgibench)"}},
		{"werkzeug", Thread, "Python (development server)", []string{"werkzeug.serving"},
			"a development server: one new thread per connection", werkzeug, map[string]string{"threaded": "true", "reloader": "off", "debugger": "off"}},
		{"wsgiref", Single, "Python (standard library)", []string{"wsgiref.simple_server"},
			"the standard library's reference server: one request at a time, HTTP/1.0", wsgiref, map[string]string{"access_log": "off"}},
		{"bjoern", EventLoop, "C (libev)", []string{"bjoern"},
			"", bjoern, map[string]string{}},
		{"meinheld", Greenlet, "C (picoev, greenlet)", []string{"meinheld"},
			"", meinheld, map[string]string{meinheld.Idle.Timeout.Key: meinheld.Idle.Timeout.Secs()}},
	} {
		r := r
		a := &Adapter{ID: r.id, Family: r.id, Model: r.model, Language: r.lang, Modules: r.modules,
			Note: r.note, DevOnly: devOnly[r.id], Facts: r.facts}
		a.Stdlib = r.id == "wsgiref"
		// Versions come from the distribution, not the submodule.
		if r.modules[0] != r.id {
			a.Dist = r.id
		}
		a.Command = func(t Target, s Shape) (Launch, error) {
			settings := map[string]string{}
			for k, v := range r.settings {
				settings[k] = v
			}
			if sc := a.Facts.Scale; sc == ScaleThreads || sc == ScaleBoth {
				settings["threads"] = itoa(s.Threads)
			}
			if sc := a.Facts.Scale; sc == ScaleProcesses || sc == ScaleBoth {
				settings["processes"] = itoa(s.Workers)
			}
			return runnerLaunch(t, s, r.id, settings)
		}
		register(a)
	}
}
