package server

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// uWSGI is a C server embedding Python. Debian ships it as a binary plus a
// python3 plugin built against /usr/bin/python3, so it can only serve that
// interpreter or a virtualenv made from it; a pip-installed uwsgi in the
// user's virtualenv is a single binary with its Python built in, and is
// preferred when present because it is what that user would deploy.
func init() {
	register(&Adapter{
		ID: "uwsgi", Family: "uwsgi", Model: ProcessThread, Language: "C",
		Facts:   uwsgiFacts,
		Detect:  detectUWSGI,
		Command: uwsgiCommand,
	})
}

// uwsgiFacts: launch runs the HTTP router (--http with --http-keepalive),
// whose one timeout, http-timeout (default 60 s), is both how long an idle
// client connection stays open and how long it waits for a worker's
// answer (measured with uWSGI 2.0.21; see internal/deploy/uwsgi.go).
var uwsgiFacts = Facts{
	Scale: ScaleBoth,
	// Capped at net.core.somaxconn at launch: uWSGI refuses a larger one.
	Backlog: 1024,
	Idle: Idle{Close: CloseWhenIdle, Timeout: Limit{Default: 60 * time.Second,
		What: "http-timeout (the HTTP router's idle keep-alive and request timeout)", Key: "http-timeout", Flag: "--http-timeout"}},
	Request: Limit{Default: 60 * time.Second,
		What: "http-timeout (the HTTP router's idle keep-alive and request timeout)", Key: "http-timeout", Flag: "--http-timeout"},
	// worker-reload-mercy and reload-mercy in the generated uwsgi.ini; not
	// measured, it only matters when stopping.
	Graceful: Limit{Default: 5 * time.Second},
	// Behind nginx its experts use uwsgi_pass (one request per
	// connection); Varnish speaks HTTP to the router, which keeps
	// connections alive.
	Front:  []Reach{{UWSGI, false}, {HTTP, true}},
	Reload: Reload{Signal: "SIGHUP", Other: "touch-reload=<file>, or \"r\" written to the master FIFO (master-fifo)"},
	// Launch always runs --thunder-lock, uWSGI's own remedy, and the HTTP
	// router, the busiest process (measured: 30% of the tree's CPU beside
	// three workers at 23%), hands out requests, not connections.
	Workers: Workers{Helpers: 1, HelpersWhy: "uWSGI's HTTP router, which has the same command line as its workers"},
	Deploy: Deploy{Config: ConfigUWSGI, Stop: Stop{
		SignalWhy: "with the hook-master-start line in uwsgi.ini, SIGTERM is a graceful stop (plain die-on-term would kill requests in progress)",
		Main:      true, ModeWhy: "SIGTERM to the master only: a uWSGI worker that gets SIGTERM itself exits at once, dropping its request",
		Drains: true,
	}},
}

const uwsgiPluginDir = "/usr/lib/uwsgi/plugins"

func detectUWSGI(d *Detection) (string, string, Tools) {
	tools := Tools{"somaxconn": readSomaxconn()}
	// A uwsgi beside a non-system interpreter was pip-installed into it.
	if p := d.firstExisting(d.Python.BinDir() + "/uwsgi"); p != "" && d.Python.BinDir() != "/usr/bin" {
		tools["uwsgi"] = p
	} else {
		bin, err := d.look("uwsgi", "/usr/bin/uwsgi")
		if err != nil {
			return "", "uwsgi not installed (Debian: uwsgi-core uwsgi-plugin-python3; elsewhere: pip install uwsgi)", nil
		}
		// Debian builds one plugin per Python version (python311_plugin.so),
		// each linked against that /usr/bin/python3.X.
		mm := strings.ReplaceAll(d.Python.MajorMinor(), ".", "")
		plugin := uwsgiPluginDir + "/python" + mm + "_plugin.so"
		if !d.Exists(plugin) {
			return "", "uwsgi's plugin for Python " + d.Python.MajorMinor() + " is missing (Debian: uwsgi-plugin-python3; elsewhere: pip install uwsgi)", nil
		}
		if d.Python.BasePrefix != "/usr" {
			return "", fmt.Sprintf("the system uwsgi plugin embeds /usr/bin/python%s, not %s; pip install uwsgi into that environment",
				d.Python.MajorMinor(), d.Python.Executable), nil
		}
		tools["uwsgi"] = bin
		tools["uwsgi-plugin"] = "python" + mm
	}
	v, err := d.Output(tools["uwsgi"], "--version")
	if err != nil {
		return "", fmt.Sprintf("%s --version failed: %v", tools["uwsgi"], err), nil
	}
	return v, "", tools
}

func readSomaxconn() string {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return "128"
	}
	return strings.TrimSpace(string(b))
}

// uwsgiListen is the accept backlog: uWSGI refuses to start when it is larger
// than net.core.somaxconn, so it is capped there.
func uwsgiListen(t Target) int {
	n, err := strconv.Atoi(t.Tools["somaxconn"])
	if err != nil || n <= 0 {
		n = 128
	}
	return min(n, uwsgiFacts.Backlog)
}

func uwsgiCommand(t Target, s Shape) (Launch, error) {
	bin := t.Tools["uwsgi"]
	if bin == "" {
		return Launch{}, fmt.Errorf("uwsgi binary not detected")
	}
	argv := []string{bin}
	if p := t.Tools["uwsgi-plugin"]; p != "" {
		// Debian's uWSGI is modular: the HTTP router is a plugin too.
		argv = append(argv, "--plugins", "http,"+p)
	}
	listen := uwsgiListen(t)
	argv = append(argv,
		// The HTTP router: an event-driven C process that holds client
		// connections (keep-alive) and hands requests to the workers.
		// --http11-socket instead makes each worker thread hold one
		// keep-alive connection while it idles, so with more clients than
		// threads the rest starve (measured: 601 of 2000 req/s achieved
		// with 32 clients on 8 threads); --http-socket closes every
		// connection without saying so in the response.
		"--http", t.Addr(),
		"--http-keepalive",
		"--master",
		"--processes", fmt.Sprint(s.Workers),
		"--threads", fmt.Sprint(s.Threads),
		"--enable-threads", // without it, threads the app starts never run
		"--thunder-lock",   // serialise accept() across processes
		"--die-on-term",    // SIGTERM stops instead of reloading (uWSGI 2.0 default)
		"--need-app",       // exit if the app does not load instead of serving 500s
		"--strict",
		"--single-interpreter",
		"--disable-logging", // no request log, as for every server
		"--buffer-size", "32768",
		"--listen", fmt.Sprint(listen),
		"--chdir", t.AppDir,
		"--pythonpath", t.AppDir,
		"--wsgi", t.App,
		"--vacuum",
	)
	settings := map[string]string{
		"mode": "http router with keep-alive", "master": "true",
		"processes": fmt.Sprint(s.Workers), "threads": fmt.Sprint(s.Threads),
		"enable-threads": "true", "thunder-lock": "true", "die-on-term": "true",
		"single-interpreter": "true", "disable-logging": "true",
		"buffer-size": "32768", "listen": fmt.Sprint(listen), "lazy-apps": "false",
	}
	if t.Python.InVenv() && t.Tools["uwsgi-plugin"] != "" {
		argv = append(argv, "--virtualenv", t.Python.Prefix)
		settings["virtualenv"] = t.Python.Prefix
	}
	if t.FrontSocket != "" {
		// nginx's uwsgi_pass speaks to the workers directly over this
		// socket; the HTTP router stays for readiness checks and Varnish.
		argv = append(argv, "--uwsgi-socket", t.FrontSocket)
		settings["uwsgi-socket"] = t.FrontSocket
	}
	return Launch{Argv: argv, Settings: settings, Shape: s}, nil
}
