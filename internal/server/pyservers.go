package server

import "fmt"

// Servers with a command line of their own, run with the chosen interpreter's
// -m so the interpreter is never in doubt.
func init() {
	register(&Adapter{
		ID: "waitress", Family: "waitress", Model: Thread, Language: "Python",
		Modules: []string{"waitress"}, Threads: true,
		Command: func(t Target, s Shape) (Launch, error) {
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "waitress",
					"--listen=" + t.Addr(),
					fmt.Sprintf("--threads=%d", s.Threads),
					"--connection-limit=1000", // default 100 would queue beyond 100 clients
					"--backlog=1024",
					"--channel-timeout=60",
					"--asyncore-use-poll", // select() cannot go past 1024 descriptors
					"--no-expose-tracebacks",
					t.App},
				Settings: map[string]string{"threads": fmt.Sprint(s.Threads), "connection_limit": "1000",
					"backlog": "1024", "channel_timeout": "60", "asyncore_use_poll": "true"},
				Shape: s,
			}, nil
		},
	})
	register(&Adapter{
		ID: "cheroot", Family: "cheroot", Model: Thread, Language: "Python",
		Modules: []string{"cheroot"}, Threads: true,
		Command: func(t Target, s Shape) (Launch, error) {
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "cheroot",
					"--bind", t.Addr(),
					"--threads", fmt.Sprint(s.Threads),
					"--max-threads", fmt.Sprint(s.Threads),
					"--request-queue-size", "1024",
					"--chdir", t.AppDir,
					t.App},
				Settings: map[string]string{"numthreads": fmt.Sprint(s.Threads), "max": fmt.Sprint(s.Threads), "request_queue_size": "1024"},
				Shape:    s,
			}, nil
		},
	})
	register(&Adapter{
		ID: "uvicorn", Family: "uvicorn", Model: EventLoop, Language: "Python (asyncio; httptools C parser when installed)",
		Modules: []string{"uvicorn", "uvicorn.middleware.wsgi"}, Workers: true, FixedThreads: 10,
		Note: "WSGI calls run in uvicorn's WSGIMiddleware pool of 10 threads per worker, which its command line cannot change",
		Command: func(t Target, s Shape) (Launch, error) {
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "uvicorn",
					"--interface", "wsgi",
					"--host", t.Host, "--port", fmt.Sprint(t.Port),
					"--workers", fmt.Sprint(s.Workers),
					"--app-dir", t.AppDir,
					"--timeout-keep-alive", "5",
					"--backlog", "1024",
					"--no-access-log", "--log-level", "warning",
					t.App},
				Settings: map[string]string{"interface": "wsgi", "workers": fmt.Sprint(s.Workers),
					"wsgi_threads": "10 (WSGIMiddleware default)", "timeout_keep_alive": "5", "access_log": "off"},
				Shape: s,
			}, nil
		},
	})
	register(&Adapter{
		ID: "hypercorn", Family: "hypercorn", Model: EventLoop, Language: "Python (asyncio)",
		Modules: []string{"hypercorn"}, Workers: true, Threads: true,
		Note: "served through wsgibench's thread-pool WSGI-to-ASGI bridge (hypercorn before 0.14 has no WSGI support)",
		Command: func(t Target, s Shape) (Launch, error) {
			src, err := runners.ReadFile("runners/wsgibench_asgi_bridge.py")
			if err != nil {
				return Launch{}, err
			}
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "hypercorn",
					"--bind", t.Addr(),
					"--workers", fmt.Sprint(s.Workers),
					"--keep-alive", "5",
					"--backlog", "1024",
					"--log-level", "warning",
					"wsgibench_asgi_bridge:application"},
				Env: []string{"WSGIBENCH_BRIDGE_APP=" + t.App, fmt.Sprintf("WSGIBENCH_BRIDGE_THREADS=%d", s.Threads),
					fmt.Sprintf("WSGIBENCH_BRIDGE_WORKERS=%d", s.Workers), "PYTHONPATH=" + t.Dir + ":" + t.AppDir},
				Files: map[string]string{"wsgibench_asgi_bridge.py": string(src)},
				Settings: map[string]string{"workers": fmt.Sprint(s.Workers), "keep_alive": "5",
					"wsgi": fmt.Sprintf("wsgibench thread-pool bridge, %d threads", s.Threads)},
				Shape: s,
			}, nil
		},
	})
	// granian is not packaged for Debian; it is used when pip-installed.
	register(&Adapter{
		ID: "granian", Family: "granian", Model: ProcessThread, Language: "Rust (hyper/tokio)",
		Modules: []string{"granian"}, Workers: true, Threads: true,
		Command: func(t Target, s Shape) (Launch, error) {
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "granian",
					"--interface", "wsgi",
					"--host", t.Host, "--port", fmt.Sprint(t.Port),
					"--workers", fmt.Sprint(s.Workers),
					"--blocking-threads", fmt.Sprint(s.Threads),
					"--backlog", "1024",
					"--no-ws",
					t.App},
				Settings: map[string]string{"interface": "wsgi", "workers": fmt.Sprint(s.Workers), "blocking_threads": fmt.Sprint(s.Threads)},
				Shape:    s,
			}, nil
		},
	})
}
