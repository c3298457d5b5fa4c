package server

// Servers started through a runner script (runners/<name>.py) because their
// command line, if any, cannot bind a port and size a pool.
func init() {
	type rs struct {
		id, runner string
		model      Model
		lang       string
		modules    []string
		workers    bool
		threads    bool
		perConn    bool
		note       string
		settings   map[string]string
	}
	devOnly := map[string]string{
		"werkzeug": "werkzeug's own documentation says its server is for development only",
		"wsgiref":  "a reference implementation, not a production server: it serves one request at a time, so one slow client stalls every other",
	}
	for _, r := range []rs{
		{"gevent", "gevent", Greenlet, "Python + C (libev, greenlet)", []string{"gevent", "gevent.pywsgi"}, false, false, false,
			"", map[string]string{"monkey_patch": "all", "spawn": "Pool(1000)", "log": "off", "tcp_nodelay": "on (set by wsgibench, as gunicorn does)"}},
		{"eventlet", "eventlet", Greenlet, "Python (greenlet)", []string{"eventlet", "eventlet.wsgi"}, false, false, false,
			"", map[string]string{"monkey_patch": "all", "max_size": "1000", "keepalive": "true", "log_output": "off"}},
		{"twisted", "twisted", Thread, "Python (Twisted reactor + thread pool)", []string{"twisted.web.wsgi"}, false, true, false,
			"", map[string]string{"threadpool": "reactor.suggestThreadPoolSize", "access_log": "off"}},
		{"tornado", "tornado", EventLoop, "Python (IOLoop; WSGI runs inline, blocking the loop)", []string{"tornado.wsgi"}, true, false, false,
			"WSGIContainer runs each request on the IOLoop thread; tornado scales by forking processes", map[string]string{"idle_connection_timeout": "5", "access_log": "off"}},
		{"paste", "paste", Thread, "Python", []string{"paste.httpserver"}, false, true, false,
			"", map[string]string{"protocol_version": "HTTP/1.1", "use_threadpool": "true", "access_log": "off", "tcp_nodelay": "on (set by wsgibench)"}},
		{"werkzeug", "werkzeug", Thread, "Python (development server)", []string{"werkzeug.serving"}, false, false, true,
			"a development server: one new thread per connection", map[string]string{"threaded": "true", "reloader": "off", "debugger": "off"}},
		{"wsgiref", "wsgiref", Single, "Python (standard library)", []string{"wsgiref.simple_server"}, false, false, false,
			"the standard library's reference server: one request at a time, HTTP/1.0", map[string]string{"access_log": "off"}},
		{"bjoern", "bjoern", EventLoop, "C (libev)", []string{"bjoern"}, false, false, false,
			"", map[string]string{}},
		{"meinheld", "meinheld", Greenlet, "C (picoev, greenlet)", []string{"meinheld"}, false, false, false,
			"", map[string]string{"keepalive": "5"}},
	} {
		r := r
		a := &Adapter{ID: r.id, Family: r.id, Model: r.model, Language: r.lang, Modules: r.modules,
			Workers: r.workers, Threads: r.threads, Note: r.note, DevOnly: devOnly[r.id]}
		a.Stdlib = r.id == "wsgiref"
		if r.perConn {
			a.FixedThreads = PerConnection
		}
		// Versions come from the distribution, not the submodule.
		if r.modules[0] != r.id {
			a.Dist = r.id
		}
		a.Command = func(t Target, s Shape) (Launch, error) {
			settings := map[string]string{}
			for k, v := range r.settings {
				settings[k] = v
			}
			if a.Threads {
				settings["threads"] = itoa(s.Threads)
			}
			if a.Workers {
				settings["processes"] = itoa(s.Workers)
			}
			return runnerLaunch(t, s, r.runner, settings)
		}
		register(a)
	}
}
