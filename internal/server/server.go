// Package server describes the WSGI servers wsgibench can run: how to find
// out whether one is installed for a given Python interpreter, and how to start
// it around an application for a given shape (processes × threads) on a port.
//
// An adapter is data plus one function that builds a command line. Starting,
// supervising and measuring the process belong to package proc; this package
// never runs a server itself, so its command lines are unit-testable on a
// machine where none of the servers is installed.
//
// Adding a server means adding a file that calls register in an init function
// with one Adapter: its command line and its Facts, the typed record that
// launch, deploy and a front's configuration all read (and, for servers
// without a usable command line, a runner script under runners/, which
// deploy's serve.py template must agree with; a test checks).
package server

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Model is how a server runs concurrent requests. It is reported beside every
// result because it explains most of what the numbers show (a process-per-
// request server cannot overlap I/O waits; an event loop running a blocking
// WSGI app serialises everything).
type Model string

// The concurrency models.
const (
	Process       Model = "process"        // pre-forked processes, one request each at a time
	Thread        Model = "thread"         // one process, a pool of threads
	ProcessThread Model = "process+thread" // several processes, each with a thread pool
	Greenlet      Model = "greenlet"       // cooperative coroutines (gevent/eventlet), monkey-patched I/O
	EventLoop     Model = "event-loop"     // an async loop that hands WSGI calls to threads or runs them inline
	Single        Model = "single"         // one request at a time
)

// Shape is the requested or effective concurrency of a server: how many
// processes, and how many threads in each.
type Shape struct {
	Workers int `json:"workers"`
	Threads int `json:"threads"`
}

// String is "workers×threads"; a server that starts a thread per connection
// has Threads 0 and shows "1×conn".
func (s Shape) String() string {
	if s.Threads == 0 {
		return fmt.Sprintf("%dxconn", s.Workers)
	}
	return fmt.Sprintf("%dx%d", s.Workers, s.Threads)
}

// PerConnection as Facts.FixedThreads means a new thread per connection.
const PerConnection = -1

func itoa(n int) string { return fmt.Sprint(n) }

// Target is everything an adapter needs to know to start a server around an
// application.
type Target struct {
	Python Python // the interpreter the app runs in
	App    string // "module:callable"
	AppDir string // working directory and first sys.path entry
	Host   string // loopback address to bind
	Port   int
	Dir    string   // private directory for generated configs, runners and sockets
	Env    []string // KEY=VALUE the application needs (e.g. WSGIBENCH_DB)
	Tools  Tools    // host binaries found during detection
	Root   bool     // running as root: servers that drop privileges need to know
	// FrontSocket, when set, is a unix socket path the server also
	// listens on, in the protocol its record's first Front reach names
	// (HTTP over a unix socket for gunicorn, the uwsgi protocol for
	// uWSGI): how nginx reaches it in its experts' deployments. The
	// server keeps its TCP address too, for readiness checks and Varnish.
	FrontSocket string
}

// Addr is Host:Port in the form a URL or a bind flag takes.
func (t Target) Addr() string {
	if strings.Contains(t.Host, ":") {
		return fmt.Sprintf("[%s]:%d", t.Host, t.Port)
	}
	return fmt.Sprintf("%s:%d", t.Host, t.Port)
}

// module and callable split App.
func (t Target) module() string   { m, _, _ := strings.Cut(t.App, ":"); return m }
func (t Target) callable() string { _, c, _ := strings.Cut(t.App, ":"); return c }

// Launch is how to start one server: the command, files to write into
// Target.Dir first, and what was configured (recorded in the results so a
// reader can see, e.g., that uWSGI ran with --enable-threads).
type Launch struct {
	Argv     []string
	Env      []string          // added to Target.Env
	Files    map[string]string // name (relative to Target.Dir) → content
	Settings map[string]string
	Shape    Shape // the effective shape
	// NeedsWorldReadable is set when the server drops privileges when
	// started as root (Apache runs mod_wsgi daemons as www-data), so the
	// caller must make the app and database reachable for that user.
	NeedsWorldReadable bool
	// RunAs is that user: Files are written readable by their owner only
	// (one may carry the app's environment, a database password in it),
	// so the caller gives them to RunAs.
	RunAs string
}

// Adapter is one way of serving a WSGI app.
type Adapter struct {
	ID       string
	Family   string // gunicorn, uwsgi, mod_wsgi, …: selects the deploy config generator
	Model    Model
	Language string // what its request handling is written in
	// Modules must import in the chosen interpreter; the first one's
	// distribution gives the version unless Dist says otherwise.
	Modules []string
	Dist    string
	// Stdlib servers report the interpreter's version.
	Stdlib bool
	// Facts are the server's typed record: shapes, limits, how a front
	// reaches it, how it stops and reloads, how it is deployed.
	Facts Facts
	// Detect, when set, decides availability instead of the module check
	// (servers that are host binaries embedding Python).
	Detect func(d *Detection) (version, reason string, tools Tools)
	// Command builds the launch for an effective shape.
	Command func(t Target, s Shape) (Launch, error)
	// Note is a sentence for the servers listing (e.g. why threads are fixed).
	Note string
	// DevOnly, when set, says why the server is not for production; it
	// travels with every result of the server as a warning.
	DevOnly string
}

// Effective maps a requested shape onto what the server can do (see
// Facts.Effective).
func (a *Adapter) Effective(req Shape) Shape { return a.Facts.Effective(req) }

var registry = map[string]*Adapter{}

func register(a *Adapter) {
	if _, dup := registry[a.ID]; dup {
		panic("server: duplicate adapter " + a.ID)
	}
	registry[a.ID] = a
}

// Register adds an adapter from outside this package and returns the
// function that removes it again. The servers wsgibench knows register
// themselves in init; Register is for tests that show a new server is one
// record (launch and deploy both work from it). It is not safe to call
// while another goroutine reads the registry.
func Register(a *Adapter) (unregister func()) {
	register(a)
	return func() { delete(registry, a.ID) }
}

// All returns every adapter, sorted by ID.
func All() []*Adapter {
	out := make([]*Adapter, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup finds an adapter by ID.
func Lookup(id string) (*Adapter, bool) {
	a, ok := registry[id]
	return a, ok
}

// IDs lists the known adapter IDs, for error messages.
func IDs() []string {
	var ids []string
	for _, a := range All() {
		ids = append(ids, a.ID)
	}
	return ids
}

// runnerLaunch is the launch for servers started through one of our runner
// scripts (servers without a command line that sets threads and binds a
// port): python runners/<name>.py --host … --port … APP.
func runnerLaunch(t Target, s Shape, name string, settings map[string]string) (Launch, error) {
	src, err := runners.ReadFile("runners/" + name + ".py")
	if err != nil {
		return Launch{}, fmt.Errorf("runner %s: %w", name, err)
	}
	common, err := runners.ReadFile("runners/wsgibench_runner.py")
	if err != nil {
		return Launch{}, err
	}
	file := "run_" + name + ".py"
	return Launch{
		Argv: []string{t.Python.Executable, "-u", filepath.Join(t.Dir, file),
			"--host", t.Host, "--port", fmt.Sprint(t.Port),
			"--workers", fmt.Sprint(s.Workers), "--threads", fmt.Sprint(s.Threads),
			"--chdir", t.AppDir, t.App},
		Files:    map[string]string{file: string(src), "wsgibench_runner.py": string(common)},
		Settings: settings,
		Shape:    s,
	}, nil
}
