package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/server"
)

// TestAddingAServerIsOneRecord adds a server that exists only in this test:
// one Adapter (its command line and its Facts) and one Register call,
// nothing else: no table in deploy, no switch, no template. Launch builds
// its command line and deploy writes a working set of files for it, with
// every limit taken from the record.
func TestAddingAServerIsOneRecord(t *testing.T) {
	// --- the whole server ---
	facts := server.Facts{
		Scale: server.ScaleThreads, Backlog: 512,
		Idle: server.Idle{Close: server.CloseWhenIdle, Timeout: server.Limit{Set: 7 * time.Second, Default: 15 * time.Second,
			What: "idle-timeout", Key: "idle_timeout", Flag: "--idle-timeout"}},
		Request: server.Limit{Set: 30 * time.Second, What: "request-timeout", Key: "request_timeout", Flag: "--request-timeout"},
		Graceful: server.Limit{Set: 8 * time.Second, Default: 3 * time.Second,
			What: "drain", Key: "drain", Flag: "--drain"},
		Front:  []server.Reach{{Protocol: server.HTTP, KeepAlive: true}},
		Reload: server.Reload{Signal: "SIGUSR2"},
		Deploy: server.Deploy{Config: server.ConfigScript, Stop: server.Stop{Signal: "SIGQUIT",
			SignalWhy: "testserve drains requests in progress for up to {graceful} on SIGQUIT", Drains: true},
			Notes: []string{"testserve {version} exists only in a test."}},
	}
	a := &server.Adapter{
		ID: "testserve", Family: "testserve", Model: server.Thread, Language: "Python",
		Modules: []string{"testserve"}, Facts: facts,
		Command: func(tg server.Target, s server.Shape) (server.Launch, error) {
			f := facts
			return server.Launch{
				Argv: []string{tg.Python.Executable, "-m", "testserve", "--bind", tg.Addr(),
					"--threads", fmt.Sprint(s.Threads), "--backlog", fmt.Sprint(f.Backlog),
					f.Idle.Timeout.Flag, f.Idle.Timeout.Secs(), f.Request.Flag, f.Request.Secs(),
					f.Graceful.Flag, f.Graceful.Secs(), tg.App},
				Settings: map[string]string{"threads": fmt.Sprint(s.Threads), f.Idle.Timeout.Key: f.Idle.Timeout.Secs()},
				Shape:    s,
			}, nil
		},
	}
	defer server.Register(a)()
	// --- end of the server ---

	got, ok := server.Lookup("testserve")
	if !ok || got != a {
		t.Fatal("the registered server is not found")
	}

	// Launch: the shape maps through the record (thread-only: 2×4 asks
	// for 8 threads in one process) and the command line carries its
	// limits.
	s := a.Effective(server.Shape{Workers: 2, Threads: 4})
	if s != (server.Shape{Workers: 1, Threads: 8}) {
		t.Errorf("effective shape %v, want 1x8", s)
	}
	l, err := a.Command(measuredTarget(), s)
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Join(l.Argv, " ")
	for _, want := range []string{"-m testserve --bind 127.0.0.1:41234", "--threads 8", "--backlog 512", "--idle-timeout 7", "--request-timeout 30", "--drain 8"} {
		if !strings.Contains(argv, want) {
			t.Errorf("launch argv %q lacks %q", argv, want)
		}
	}

	// Deploy: from a results file of a measurement at 4×8 (run as 1×32),
	// the whole set of files.
	dir := t.TempDir()
	files, err := Generate(dir, goldenInput(t, a))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if want := "testserve.sh wsgibench-app.service varnish.vcl varnish.service.conf nginx.conf README.md"; strings.Join(names, " ") != want {
		t.Errorf("files %v, want %s", names, want)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, wants := range map[string][]string{
		// The measured command line, with the production address.
		"testserve.sh": {"-m testserve", "--bind 127.0.0.1:8000", "--threads 32", "--idle-timeout 7", "myapp.wsgi:application"},
		// The stop from the record; TimeoutStopSec outlasts the 8 s drain.
		"wsgibench-app.service": {"KillSignal=SIGQUIT", "testserve drains requests in progress for up to 8s", "TimeoutStopSec=13"},
		// The proxy drops idle connections 1 s before the server's 7 s,
		// waits past its 30 s request timeout and opens at most twice its
		// 32 threads.
		"varnish.service.conf": {"backend_idle_timeout=6"},
		"varnish.vcl":          {".first_byte_timeout = 35s;", ".max_connections = 64;"},
		"nginx.conf":           {"keepalive_timeout 6s;", "max_conns=64"},
		"README.md":            {"idle-timeout 7s (measured)", "request-timeout 30s (measured: --request-timeout 30)", "drain 8s (measured: --drain 8)", "testserve 1.0 exists only in a test."},
	} {
		text := read(name)
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
}

// TestServerWithoutDeployKind: a record that names no deploy kind gets a
// clear error, not a half-written config.
func TestServerWithoutDeployKind(t *testing.T) {
	a := &server.Adapter{ID: "nodeploy", Family: "nodeploy", Model: server.Single,
		Command: func(tg server.Target, s server.Shape) (server.Launch, error) {
			return server.Launch{Argv: []string{"nodeploy", tg.App}, Shape: s}, nil
		}}
	defer server.Register(a)()
	_, err := Generate(t.TempDir(), Input{Server: "nodeploy", App: "app:application", Shape: goldenInput(t, a).Shape})
	if err == nil || !strings.Contains(err.Error(), "no configuration generator") {
		t.Errorf("want a no-generator error, got %v", err)
	}
}
