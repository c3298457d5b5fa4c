package server

import (
	"fmt"
	"time"
)

// gunicorn's four worker classes are four servers as far as a user is
// concerned: they differ in concurrency model, keep-alive and dependencies.
func init() {
	register(gunicorn("gunicorn-sync", "sync", Process, nil,
		"the sync worker closes every connection after one response, by design; it expects a buffering proxy in front"))
	register(gunicorn("gunicorn-gthread", "gthread", ProcessThread, nil, ""))
	register(gunicorn("gunicorn-gevent", "gevent", Greenlet, []string{"gunicorn.workers.ggevent"}, ""))
	register(gunicorn("gunicorn-eventlet", "eventlet", Greenlet, []string{"gunicorn.workers.geventlet"}, ""))
}

// gunicornFacts are one worker class's facts. Defaults are gunicorn's
// documented ones (keepalive 2 s, timeout 30 s, graceful_timeout 30 s,
// backlog 2048, worker_connections 1000).
func gunicornFacts(class string) Facts {
	f := Facts{
		Scale:   ScaleProcesses,
		Backlog: 2048,
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Set: 5 * time.Second, Default: 2 * time.Second,
			What: "keep-alive", Key: "keepalive", Flag: "--keep-alive"}},
		Request: Limit{Set: 60 * time.Second, Default: 30 * time.Second,
			What: "worker timeout", Key: "timeout", Flag: "--timeout"},
		Graceful: Limit{Set: 5 * time.Second, Default: 30 * time.Second,
			What: "graceful timeout", Key: "graceful_timeout", Flag: "--graceful-timeout"},
		Reload: Reload{Signal: "SIGHUP"},
		Deploy: Deploy{Config: ConfigGunicorn, Stop: Stop{
			SignalWhy: "gunicorn's graceful shutdown: stop accepting, finish requests in progress for up to graceful_timeout",
			Main:      true, ModeWhy: "SIGTERM to the arbiter only; it stops its workers gracefully within graceful_timeout, then systemd kills what is left",
			Drains: true,
		}},
	}
	switch class {
	case "sync":
		f.Idle.Close = CloseAfterResponse
		f.Idle.Note = "the sync worker closes the connection after every response (keep-alive does not apply)"
	case "gthread":
		f.Scale = ScaleBoth
		// A gthread worker accepts every connection it sees while awake,
		// and keeps it: a burst of keep-alive clients can land on one
		// worker while the others idle for the connections' lifetime.
		f.Workers.Remedy = Remedy{Argv: []string{"--reuse-port"}, Setting: "reuse_port", Value: "True",
			What: "SO_REUSEPORT on the listening socket (gunicorn binds it once in the arbiter, so the kernel still sees one socket)"}
	case "gevent", "eventlet":
		// worker_connections: the most simultaneous clients per worker.
		f.Pool = Pool{Size: 1000, Unit: "greenlets", Setting: "worker_connections"}
	}
	keepAlive := f.Idle.Close != CloseAfterResponse
	f.Front = []Reach{{HTTPUnix, keepAlive}, {HTTP, keepAlive}}
	return f
}

func gunicorn(id, class string, model Model, extra []string, note string) *Adapter {
	f := gunicornFacts(class)
	return &Adapter{
		ID: id, Family: "gunicorn", Model: model, Language: "Python",
		Modules: append([]string{"gunicorn"}, extra...),
		Note:    note, Facts: f,
		Command: func(t Target, s Shape) (Launch, error) {
			argv := []string{t.Python.Executable, "-m", "gunicorn",
				"--bind", t.Addr(),
				"--workers", fmt.Sprint(s.Workers),
				"--worker-class", class,
				"--chdir", t.AppDir,
				f.Idle.Timeout.Flag, f.Idle.Timeout.Secs(),
				f.Request.Flag, f.Request.Secs(),
				f.Graceful.Flag, f.Graceful.Secs(),
				"--log-level", "warning",
				"--worker-tmp-dir", "/dev/shm",
			}
			settings := map[string]string{
				"worker_class": class, "workers": fmt.Sprint(s.Workers),
				f.Idle.Timeout.Key: f.Idle.Timeout.Secs(), f.Request.Key: f.Request.Secs(),
				"worker_tmp_dir": "/dev/shm", "accesslog": "off",
			}
			if f.Scale == ScaleBoth {
				argv = append(argv, "--threads", fmt.Sprint(s.Threads))
				settings["threads"] = fmt.Sprint(s.Threads)
			}
			if p := f.Pool; p.Size > 0 {
				argv = append(argv, "--"+dashed(p.Setting), fmt.Sprint(p.Size))
				settings[p.Setting] = fmt.Sprint(p.Size)
			}
			if t.FrontSocket != "" {
				argv = append(argv, "--bind", "unix:"+t.FrontSocket)
				settings["front_bind"] = "unix:" + t.FrontSocket
			}
			argv = append(argv, t.App)
			return Launch{Argv: argv, Settings: settings, Shape: s}, nil
		},
	}
}
