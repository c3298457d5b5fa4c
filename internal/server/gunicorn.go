package server

import "fmt"

// gunicorn's four worker classes are four servers as far as a user is
// concerned: they differ in concurrency model, keep-alive and dependencies.
func init() {
	register(gunicorn("gunicorn-sync", "sync", Process, false, nil,
		"the sync worker closes every connection after one response, by design; it expects a buffering proxy in front"))
	register(gunicorn("gunicorn-gthread", "gthread", ProcessThread, true, nil, ""))
	register(gunicorn("gunicorn-gevent", "gevent", Greenlet, false, []string{"gunicorn.workers.ggevent"}, ""))
	register(gunicorn("gunicorn-eventlet", "eventlet", Greenlet, false, []string{"gunicorn.workers.geventlet"}, ""))
}

// greenletConnections is worker_connections for greenlet workers: the most
// simultaneous clients per worker (gunicorn's default too).
const greenletConnections = 1000

func gunicorn(id, class string, model Model, threads bool, extra []string, note string) *Adapter {
	return &Adapter{
		ID: id, Family: "gunicorn", Model: model, Language: "Python",
		Modules: append([]string{"gunicorn"}, extra...),
		Workers: true, Threads: threads, Note: note,
		Command: func(t Target, s Shape) (Launch, error) {
			argv := []string{t.Python.Executable, "-m", "gunicorn",
				"--bind", t.Addr(),
				"--workers", fmt.Sprint(s.Workers),
				"--worker-class", class,
				"--chdir", t.AppDir,
				"--keep-alive", "5",
				"--timeout", "60",
				"--graceful-timeout", "5",
				"--log-level", "warning",
				"--worker-tmp-dir", "/dev/shm",
			}
			settings := map[string]string{
				"worker_class": class, "workers": fmt.Sprint(s.Workers),
				"keepalive": "5", "timeout": "60", "worker_tmp_dir": "/dev/shm", "accesslog": "off",
			}
			switch class {
			case "gthread":
				argv = append(argv, "--threads", fmt.Sprint(s.Threads))
				settings["threads"] = fmt.Sprint(s.Threads)
			case "gevent", "eventlet":
				argv = append(argv, "--worker-connections", fmt.Sprint(greenletConnections))
				settings["worker_connections"] = fmt.Sprint(greenletConnections)
			}
			argv = append(argv, t.App)
			return Launch{Argv: argv, Settings: settings, Shape: s}, nil
		},
	}
}
