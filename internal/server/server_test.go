package server

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testTarget() Target {
	return Target{
		Python: Python{Executable: "/venv/bin/python", Version: "3.11.2", Prefix: "/venv", BasePrefix: "/usr"},
		App:    "wsgibench_app:application", AppDir: "/run/app",
		Host: "127.0.0.1", Port: 8123, Dir: "/run/launch",
		Env: []string{"WSGIBENCH_DB=/run/db.sqlite"},
		Tools: Tools{"uwsgi": "/usr/bin/uwsgi", "uwsgi-plugin": "python311", "somaxconn": "4096",
			"apache": "/usr/sbin/apache2", "apache-modules": "/usr/lib/apache2/modules",
			"mod_wsgi": "/usr/lib/apache2/modules/mod_wsgi.so-3.11"},
		Root: true,
	}
}

// TestCommandsGolden renders every adapter's launch for a few requested
// shapes into testdata/commands.golden, so a change to any command line is
// a visible diff (go test ./internal/server -update to accept it).
func TestCommandsGolden(t *testing.T) {
	var b strings.Builder
	for _, a := range All() {
		for _, req := range []Shape{{1, 1}, {3, 1}, {1, 8}} {
			s := a.Effective(req)
			l, err := a.Command(testTarget(), s)
			if err != nil {
				t.Fatalf("%s %v: %v", a.ID, s, err)
			}
			if l.Shape != s {
				t.Errorf("%s: launch shape %v, want %v", a.ID, l.Shape, s)
			}
			fmt.Fprintf(&b, "== %s requested %v effective %v\n", a.ID, req, s)
			fmt.Fprintf(&b, "argv: %s\n", strings.Join(l.Argv, " "))
			if len(l.Env) > 0 {
				fmt.Fprintf(&b, "env: %s\n", strings.Join(l.Env, " "))
			}
			var files []string
			for name := range l.Files {
				files = append(files, name)
			}
			sort.Strings(files)
			fmt.Fprintf(&b, "files: %s\n", strings.Join(files, " "))
			var keys []string
			for k := range l.Settings {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "  %s=%s\n", k, l.Settings[k])
			}
		}
	}
	golden(t, "commands.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff.\ngot:\n%s", name, got)
	}
}

func TestModWSGIConfig(t *testing.T) {
	a, _ := Lookup("mod_wsgi")
	l, err := a.Command(testTarget(), Shape{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	conf := l.Files["httpd.conf"]
	for _, want := range []string{
		"Listen 127.0.0.1:8123",
		"WSGIDaemonProcess wsgibench processes=2 threads=4",
		"python-home=/venv",
		"User www-data",
		"ServerRoot \"/run/launch\"",
		"KeepAlive On",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("httpd.conf lacks %q", want)
		}
	}
	if !strings.Contains(l.Files["app.wsgi"], `WSGIBENCH_DB`) {
		t.Error("app.wsgi does not carry the app's environment")
	}
	if !l.NeedsWorldReadable {
		t.Error("as root, mod_wsgi's daemons run as another user")
	}
	nonRoot := testTarget()
	nonRoot.Root = false
	l, _ = a.Command(nonRoot, Shape{1, 1})
	if strings.Contains(l.Files["httpd.conf"], "User ") || l.NeedsWorldReadable {
		t.Error("not root: no User directive and nothing to open up")
	}
}

func TestEffective(t *testing.T) {
	tests := []struct {
		id       string
		req, eff Shape
	}{
		{"gunicorn-sync", Shape{3, 8}, Shape{24, 1}}, // one request per process: the concurrency as processes
		{"gunicorn-sync", Shape{1, 8}, Shape{8, 1}},
		{"gunicorn-sync", Shape{9, 1}, Shape{9, 1}},
		{"gunicorn-gthread", Shape{3, 8}, Shape{3, 8}},
		{"uwsgi", Shape{2, 4}, Shape{2, 4}},
		{"waitress", Shape{3, 1}, Shape{1, 3}}, // same total concurrency as threads
		{"waitress", Shape{2, 4}, Shape{1, 8}},
		{"uvicorn", Shape{2, 4}, Shape{2, 10}}, // its pool is fixed
		{"wsgiref", Shape{4, 4}, Shape{1, 1}},
		{"werkzeug", Shape{4, 4}, Shape{1, 0}}, // a thread per connection
		{"gevent", Shape{3, 1}, Shape{1, 1}},
		{"tornado", Shape{3, 8}, Shape{24, 1}}, // WSGI runs inline: one request per process
		{"waitress", Shape{4, 8}, Shape{1, 32}},
		{"waitress", Shape{9, 1}, Shape{1, 9}},
		{"gunicorn-gevent", Shape{4, 8}, Shape{4, 1}}, // greenlets are its concurrency
		{"gevent", Shape{4, 8}, Shape{1, 1}},
		{"granian", Shape{4, 8}, Shape{4, 8}},
		{"gunicorn-gevent", Shape{0, 0}, Shape{1, 1}},
	}
	for _, tc := range tests {
		a, ok := Lookup(tc.id)
		if !ok {
			t.Fatalf("no adapter %s", tc.id)
		}
		if got := a.Effective(tc.req); got != tc.eff {
			t.Errorf("%s.Effective(%v) = %v, want %v", tc.id, tc.req, got, tc.eff)
		}
	}
}

// TestDetectionRules describes machines without having them.
func TestDetectionRules(t *testing.T) {
	debian := func(py Python, files ...string) *Detection {
		have := map[string]bool{}
		for _, f := range files {
			have[f] = true
		}
		return &Detection{
			Python:   py,
			Modules:  map[string]Module{},
			LookPath: func(n string) (string, error) { return "", errNotFound },
			Exists:   func(p string) bool { return have[p] },
			Output:   func(string, ...string) (string, error) { return "2.0.21", nil },
		}
	}
	sys311 := Python{Executable: "/usr/bin/python3", Version: "3.11.2", Prefix: "/usr", BasePrefix: "/usr"}
	venv := Python{Executable: "/home/u/venv/bin/python", Version: "3.11.2", Prefix: "/home/u/venv", BasePrefix: "/usr"}
	pyenv := Python{Executable: "/root/.pyenv/versions/3.12.1/bin/python3", Version: "3.12.1", Prefix: "/root/.pyenv/versions/3.12.1", BasePrefix: "/root/.pyenv/versions/3.12.1"}
	plugin := "/usr/lib/uwsgi/plugins/python311_plugin.so"
	tests := []struct {
		name   string
		d      *Detection
		ok     bool
		plugin string
		bin    string
	}{
		{"debian system python", debian(sys311, "/usr/bin/uwsgi", plugin), true, "python311", "/usr/bin/uwsgi"},
		{"venv on system python", debian(venv, "/usr/bin/uwsgi", plugin), true, "python311", "/usr/bin/uwsgi"},
		{"venv with pip uwsgi", debian(venv, "/home/u/venv/bin/uwsgi", "/usr/bin/uwsgi", plugin), true, "", "/home/u/venv/bin/uwsgi"},
		{"pyenv without pip uwsgi", debian(pyenv, "/usr/bin/uwsgi", plugin), false, "", ""},
		{"no plugin", debian(sys311, "/usr/bin/uwsgi"), false, "", ""},
		{"nothing", debian(sys311), false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, reason, tools := detectUWSGI(tc.d)
			if (reason == "") != tc.ok {
				t.Fatalf("available=%v (reason %q), want %v", reason == "", reason, tc.ok)
			}
			if tc.ok && (tools["uwsgi-plugin"] != tc.plugin || tools["uwsgi"] != tc.bin) {
				t.Errorf("tools = %v", tools)
			}
		})
	}
}

// TestRecordsAreWhatLaunchRuns: every limit the record says launch sets is
// on the command line or in the recorded settings under the name the
// record gives (deploy reads it back from there), and every record is
// complete enough for deploy and a front.
func TestRecordsAreWhatLaunchRuns(t *testing.T) {
	for _, a := range All() {
		f := a.Facts
		s := a.Effective(Shape{2, 4})
		l, err := a.Command(testTarget(), s)
		if err != nil {
			t.Fatalf("%s: %v", a.ID, err)
		}
		argv := " " + strings.Join(l.Argv, " ") + " "
		for name, lim := range map[string]Limit{"idle timeout": f.Idle.Timeout, "request": f.Request, "graceful": f.Graceful} {
			if lim.Set == 0 || (lim.Key == "" && lim.Flag == "") {
				continue // not set, or set in a config file launch writes
			}
			onArgv := lim.Flag != "" && (strings.Contains(argv, " "+lim.Flag+" "+lim.Secs()+" ") || strings.Contains(argv, " "+lim.Flag+"="+lim.Secs()+" "))
			v, inSettings := l.Settings[lim.Key]
			if inSettings && v != lim.Secs() {
				t.Errorf("%s: the record's %s is %s=%s, settings say %q", a.ID, name, lim.Key, lim.Secs(), v)
			}
			if !onArgv && !(inSettings && v == lim.Secs()) {
				t.Errorf("%s: the record's %s (%s) is neither on the command line as %q nor in settings as %q: %q",
					a.ID, name, lim.Secs(), lim.Flag, lim.Key, argv)
			}
		}
		if f.Idle.Close == CloseWhenIdle && f.Idle.Timeout.D() <= 0 {
			t.Errorf("%s: closes idle connections, but after no time at all", a.ID)
		}
		if f.Idle.Close != CloseWhenIdle && f.Idle.Note == "" {
			t.Errorf("%s: idle behaviour %v needs a note saying why", a.ID, f.Idle.Close)
		}
		if len(f.Front) == 0 {
			t.Errorf("%s: no way for a front to reach it", a.ID)
		}
		if f.Deploy.Config == ConfigNone {
			t.Errorf("%s: no deploy kind", a.ID)
		}
		if f.Pool.Size > 0 && f.Pool.Setting != "" && !strings.Contains(argv, " --"+dashed(f.Pool.Setting)+" "+itoa(f.Pool.Size)+" ") {
			t.Errorf("%s: pool %s=%d not on the command line %q", a.ID, f.Pool.Setting, f.Pool.Size, argv)
		}
	}
}

func TestCapacity(t *testing.T) {
	tests := []struct {
		id  string
		s   Shape
		n   int
		how string
	}{
		{"gunicorn-gevent", Shape{4, 1}, 4000, "4 workers × 1000 worker_connections (greenlets)"},
		{"gevent", Shape{1, 1}, 1000, "a pool of 1000 greenlets"},
		{"werkzeug", Shape{1, 0}, 0, "a new thread per connection, no limit"},
		{"waitress", Shape{1, 8}, 8, "8 threads in one process"},
		{"uwsgi", Shape{2, 4}, 8, "2 processes × 4 threads"},
	}
	for _, tc := range tests {
		a, _ := Lookup(tc.id)
		if n, how := a.Facts.Capacity(tc.s); n != tc.n || how != tc.how {
			t.Errorf("%s at %v: %d %q, want %d %q", tc.id, tc.s, n, how, tc.n, tc.how)
		}
	}
}
