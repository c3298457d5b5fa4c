package server

import (
	"fmt"
	"time"
)

// supervisorStop is the stop of a server whose main process supervises its
// workers and drains them on SIGTERM (uvicorn, hypercorn, granian).
var supervisorStop = Stop{
	SignalWhy: "graceful stop: stop accepting and finish requests in progress",
	// With several workers the main process is a supervisor that stops
	// them gracefully itself; hypercorn's workers ignore SIGINT and die
	// on a SIGTERM of their own.
	Main: true, ModeWhy: "SIGTERM to the main process only; with several workers it is a supervisor that shuts its workers down gracefully",
	Drains: true,
}

// Servers with a command line of their own, run with the chosen interpreter's
// -m so the interpreter is never in doubt.
func init() {
	// waitress: one process, a thread pool. channel_timeout closes
	// connections idle that long; waitress checks every cleanup_interval
	// (30 s), so it closes them between channel_timeout and
	// channel_timeout+30 s, never earlier. Defaults: channel_timeout 120,
	// connection_limit 100, backlog 1024.
	waitress := Facts{
		Scale: ScaleThreads, Backlog: 1024, ConnectionLimit: 1000,
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Set: 60 * time.Second, Default: 120 * time.Second,
			What: "channel-timeout", Key: "channel_timeout", Flag: "--channel-timeout"}},
		Notes:  []string{"waitress has no request timeout and stops without waiting for requests in progress"},
		Front:  httpOnly(true),
		Deploy: Deploy{Config: ConfigScript, Stop: Stop{SignalWhy: "waitress has no graceful stop: SIGTERM ends it at once, dropping requests in progress"}},
	}
	register(&Adapter{
		ID: "waitress", Family: "waitress", Model: Thread, Language: "Python",
		Modules: []string{"waitress"}, Facts: waitress,
		Command: func(t Target, s Shape) (Launch, error) {
			f := waitress
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "waitress",
					"--listen=" + t.Addr(),
					fmt.Sprintf("--threads=%d", s.Threads),
					fmt.Sprintf("--connection-limit=%d", f.ConnectionLimit), // default 100 would queue beyond 100 clients
					fmt.Sprintf("--backlog=%d", f.Backlog),
					f.Idle.Timeout.Flag + "=" + f.Idle.Timeout.Secs(),
					"--asyncore-use-poll", // select() cannot go past 1024 descriptors
					"--no-expose-tracebacks",
					t.App},
				Settings: map[string]string{"threads": fmt.Sprint(s.Threads), "connection_limit": fmt.Sprint(f.ConnectionLimit),
					"backlog": fmt.Sprint(f.Backlog), f.Idle.Timeout.Key: f.Idle.Timeout.Secs(), "asyncore_use_poll": "true"},
				Shape: s,
			}, nil
		},
	})
	// cheroot: a thread pool; its timeout (default 10 s) is the socket
	// timeout that closes an idle keep-alive connection; shutdown_timeout
	// (default 5 s) bounds the graceful stop it does on SIGINT.
	cheroot := Facts{
		Scale: ScaleThreads, Backlog: 1024,
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Default: 10 * time.Second,
			What: "timeout (idle keep-alive)", Key: "timeout", Flag: "--timeout"}},
		Graceful: Limit{Default: 5 * time.Second, What: "shutdown-timeout", Key: "shutdown_timeout", Flag: "--shutdown-timeout"},
		Front:    httpOnly(true),
		Deploy: Deploy{Config: ConfigScript, Stop: Stop{Signal: "SIGINT",
			SignalWhy: "cheroot's command line stops gracefully (shutdown-timeout) on SIGINT; on SIGTERM Python exits at once",
			Drains:    true}},
	}
	register(&Adapter{
		ID: "cheroot", Family: "cheroot", Model: Thread, Language: "Python",
		Modules: []string{"cheroot"}, Facts: cheroot,
		Command: func(t Target, s Shape) (Launch, error) {
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "cheroot",
					"--bind", t.Addr(),
					"--threads", fmt.Sprint(s.Threads),
					"--max-threads", fmt.Sprint(s.Threads),
					"--request-queue-size", fmt.Sprint(cheroot.Backlog),
					"--chdir", t.AppDir,
					t.App},
				Settings: map[string]string{"numthreads": fmt.Sprint(s.Threads), "max": fmt.Sprint(s.Threads), "request_queue_size": fmt.Sprint(cheroot.Backlog)},
				Shape:    s,
			}, nil
		},
	})
	// uvicorn: timeout-keep-alive defaults to 5 s; on SIGTERM it drains
	// requests in progress without a limit of its own, so the graceful
	// window is systemd's (5 s assumed).
	uvicorn := Facts{
		Scale: ScaleProcesses, FixedThreads: 10, Backlog: 1024,
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Set: 5 * time.Second, Default: 5 * time.Second,
			What: "timeout-keep-alive", Key: "timeout_keep_alive", Flag: "--timeout-keep-alive"}},
		Graceful: Limit{Default: 5 * time.Second},
		Front:    httpOnly(true),
		Deploy:   Deploy{Config: ConfigScript, Stop: supervisorStop},
	}
	register(&Adapter{
		ID: "uvicorn", Family: "uvicorn", Model: EventLoop, Language: "Python (asyncio; httptools C parser when installed)",
		Modules: []string{"uvicorn", "uvicorn.middleware.wsgi"}, Facts: uvicorn,
		Note: fmt.Sprintf("WSGI calls run in uvicorn's WSGIMiddleware pool of %d threads per worker, which its command line cannot change", uvicorn.FixedThreads),
		Command: func(t Target, s Shape) (Launch, error) {
			f := uvicorn
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "uvicorn",
					"--interface", "wsgi",
					"--host", t.Host, "--port", fmt.Sprint(t.Port),
					"--workers", fmt.Sprint(s.Workers),
					"--app-dir", t.AppDir,
					f.Idle.Timeout.Flag, f.Idle.Timeout.Secs(),
					"--backlog", fmt.Sprint(f.Backlog),
					"--no-access-log", "--log-level", "warning",
					t.App},
				Settings: map[string]string{"interface": "wsgi", "workers": fmt.Sprint(s.Workers),
					"wsgi_threads":     fmt.Sprintf("%d (WSGIMiddleware default)", f.FixedThreads),
					f.Idle.Timeout.Key: f.Idle.Timeout.Secs(), "access_log": "off"},
				Shape: s,
			}, nil
		},
	})
	// hypercorn: keep-alive defaults to 5 s, graceful-timeout to 3 s.
	hypercorn := Facts{
		Scale: ScaleBoth, Backlog: 1024,
		Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Set: 5 * time.Second, Default: 5 * time.Second,
			What: "keep-alive", Key: "keep_alive", Flag: "--keep-alive"}},
		Graceful: Limit{Default: 3 * time.Second, What: "graceful-timeout", Key: "graceful_timeout", Flag: "--graceful-timeout"},
		Front:    httpOnly(true),
		Deploy: Deploy{Config: ConfigScript, Stop: supervisorStop, Bridge: true, Notes: []string{
			"hypercorn {version} serves WSGI through wsgibench_asgi_bridge.py, installed beside hypercorn.sh, exactly as measured; it buffers whole responses, so it is not for streaming."}},
	}
	register(&Adapter{
		ID: "hypercorn", Family: "hypercorn", Model: EventLoop, Language: "Python (asyncio)",
		Modules: []string{"hypercorn"}, Facts: hypercorn,
		Note: "served through wsgibench's thread-pool WSGI-to-ASGI bridge (hypercorn before 0.14 has no WSGI support)",
		Command: func(t Target, s Shape) (Launch, error) {
			f := hypercorn
			src, err := runners.ReadFile("runners/wsgibench_asgi_bridge.py")
			if err != nil {
				return Launch{}, err
			}
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "hypercorn",
					"--bind", t.Addr(),
					"--workers", fmt.Sprint(s.Workers),
					f.Idle.Timeout.Flag, f.Idle.Timeout.Secs(),
					"--backlog", fmt.Sprint(f.Backlog),
					"--log-level", "warning",
					"wsgibench_asgi_bridge:application"},
				Env: []string{"WSGIBENCH_BRIDGE_APP=" + t.App, fmt.Sprintf("WSGIBENCH_BRIDGE_THREADS=%d", s.Threads),
					fmt.Sprintf("WSGIBENCH_BRIDGE_WORKERS=%d", s.Workers), "PYTHONPATH=" + t.Dir + ":" + t.AppDir},
				Files: map[string]string{"wsgibench_asgi_bridge.py": string(src)},
				Settings: map[string]string{"workers": fmt.Sprint(s.Workers), f.Idle.Timeout.Key: f.Idle.Timeout.Secs(),
					"wsgi": fmt.Sprintf("wsgibench thread-pool bridge, %d threads", s.Threads)},
				Shape: s,
			}, nil
		},
	})
	// granian is not packaged for Debian; it is used when pip-installed.
	// Its idle keep-alive is not set on the command line measured and not
	// documented per version: a short one is assumed so a front still
	// drops idle connections first (shortening the front's idle timeout
	// further only costs a loopback reconnect).
	granian := Facts{
		Scale: ScaleBoth, Backlog: 1024,
		Idle:     Idle{Close: CloseWhenIdle, Timeout: Limit{Default: 5 * time.Second}},
		Graceful: Limit{Default: 5 * time.Second},
		Notes:    []string{"keep-alive 5 s assumed (granian's idle timeout was not configured or measured)"},
		Front:    httpOnly(true),
		Deploy:   Deploy{Config: ConfigScript, Stop: supervisorStop},
	}
	register(&Adapter{
		ID: "granian", Family: "granian", Model: ProcessThread, Language: "Rust (hyper/tokio)",
		Modules: []string{"granian"}, Facts: granian,
		Command: func(t Target, s Shape) (Launch, error) {
			return Launch{
				Argv: []string{t.Python.Executable, "-m", "granian",
					"--interface", "wsgi",
					"--host", t.Host, "--port", fmt.Sprint(t.Port),
					"--workers", fmt.Sprint(s.Workers),
					"--blocking-threads", fmt.Sprint(s.Threads),
					"--backlog", fmt.Sprint(granian.Backlog),
					"--no-ws",
					t.App},
				Settings: map[string]string{"interface": "wsgi", "workers": fmt.Sprint(s.Workers), "blocking_threads": fmt.Sprint(s.Threads)},
				Shape:    s,
			}, nil
		},
	})
}
