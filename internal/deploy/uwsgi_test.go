package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// routerArgv is the adapter's command line with extra options before the
// app's, the way a benchmark that set them would record it.
func routerArgv(extra ...string) []string {
	argv := []string{"/usr/bin/uwsgi", "--plugins", "http,python311", "--http", "127.0.0.1:41234"}
	argv = append(argv, extra...)
	return append(argv, "--master", "--processes", "2", "--threads", "4", "--wsgi", "app:application")
}

// TestUWSGIRouterTimeouts: the router's limits as measured on uWSGI 2.0.21
// (see uwsgiTimeouts), read from the command line.
func TestUWSGIRouterTimeouts(t *testing.T) {
	tests := []struct {
		name        string
		argv        []string
		keepAlive   time.Duration
		noKeepAlive bool
		request     time.Duration
		idle        time.Duration // Varnish backend_idle_timeout
	}{
		// Bare --http-keepalive: idle connections close after
		// http-timeout, 60 s by default.
		{"bare keep-alive", routerArgv("--http-keepalive"), 60 * time.Second, false, 60 * time.Second, 59 * time.Second},
		{"http-timeout", routerArgv("--http-keepalive", "--http-timeout", "30"), 30 * time.Second, false, 30 * time.Second, 29 * time.Second},
		// --http-keepalive=N sets the idle limit apart from http-timeout.
		{"keep-alive=5", routerArgv("--http-keepalive=5"), 5 * time.Second, false, 60 * time.Second, 4 * time.Second},
		// A harakiri below http-timeout is the tighter request limit.
		{"harakiri", routerArgv("--http-keepalive", "--harakiri", "20"), 60 * time.Second, false, 20 * time.Second, 59 * time.Second},
		// No keep-alive: the router closes every connection.
		{"no keep-alive", routerArgv(), 0, true, 60 * time.Second, varnishIdleDefault},
	}
	for _, tt := range tests {
		p, err := newPlan(Input{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 4}, App: "app:application", Argv: tt.argv})
		if err != nil {
			t.Fatal(err)
		}
		if p.T.KeepAlive != tt.keepAlive || p.T.NoKeepAlive != tt.noKeepAlive || p.T.Request != tt.request || p.Proxy.IdleTimeout != tt.idle {
			t.Errorf("%s: keep-alive %v (none %v), request %v, idle %v; want %v (%v), %v, %v",
				tt.name, p.T.KeepAlive, p.T.NoKeepAlive, p.T.Request, p.Proxy.IdleTimeout, tt.keepAlive, tt.noKeepAlive, tt.request, tt.idle)
		}
		if p.Proxy.ProbeRequest != nil {
			t.Errorf("%s: the router answers Varnish's .url probe and closes on its Connection: close; no raw probe needed", tt.name)
		}
	}
}

// TestUWSGIHTTP11Results: a results file measured with --http11-socket
// (wsgibench before the router) still renders what it measured.
func TestUWSGIHTTP11Results(t *testing.T) {
	argv := []string{"/usr/bin/uwsgi", "--plugin", "python311", "--http11-socket", "127.0.0.1:41234", "--master",
		"--processes", "2", "--threads", "4", "--wsgi", "app:application"}
	in := Input{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 4}, App: "app:application", Argv: argv}
	p, err := newPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	// socket-timeout (4 s) is the idle limit there; Varnish's probe has to
	// be HTTP/1.0, which http11-socket closes.
	if p.T.KeepAlive != 4*time.Second || p.Proxy.IdleTimeout != 3*time.Second || p.Proxy.ProbeRequest == nil || p.UWSGIRouter() {
		t.Errorf("http11-socket: keep-alive %v, idle %v, probe %q, router %v", p.T.KeepAlive, p.Proxy.IdleTimeout, p.Proxy.ProbeRequest, p.UWSGIRouter())
	}
	dir := t.TempDir()
	if _, err := Generate(dir, in); err != nil {
		t.Fatal(err)
	}
	ini, _ := os.ReadFile(filepath.Join(dir, "uwsgi.ini"))
	for _, want := range []string{"\nhttp11-socket = 127.0.0.1:8000\n", "\nsocket-timeout = 4\n", "\nhook-master-start = unix_signal:15 gracefully_kill_them_all\n"} {
		if !strings.Contains(string(ini), want) {
			t.Errorf("uwsgi.ini lacks %q", want)
		}
	}
	for _, unwanted := range []string{"attach-daemon2", "post-buffering", "http-timeout"} {
		if strings.Contains(string(ini), unwanted) {
			t.Errorf("uwsgi.ini for http11-socket has the router's %s", unwanted)
		}
	}
}

// TestRouterDrainCommand: attach-daemon2 splits its key=value list on ","
// and "=", and uWSGI's ini reader expands $( and @( and %.
func TestRouterDrainCommand(t *testing.T) {
	if strings.ContainsAny(routerDrain, ",=%") {
		t.Errorf("the drain command contains , = or %%, which attach-daemon2 or the ini reader would split or expand: %s", routerDrain)
	}
	if err := iniSafe(routerDrain); err != nil {
		t.Error(err)
	}
}
