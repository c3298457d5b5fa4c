package server

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

//go:embed detect.py
var detectScript string

// Python describes the interpreter the application runs in. Which one is used
// matters: Debian's servers live under /usr/bin/python3, a user's under their
// virtualenv, and host binaries (uWSGI, mod_wsgi) embed one particular Python.
type Python struct {
	Executable     string `json:"executable"` // absolute path as given (a venv's python is a symlink; keep it)
	Version        string `json:"version"`    // e.g. 3.11.2
	Prefix         string `json:"prefix"`     // sys.prefix
	BasePrefix     string `json:"base_prefix"`
	Implementation string `json:"implementation"`
}

// InVenv reports whether the interpreter is a virtualenv.
func (p Python) InVenv() bool { return p.Prefix != "" && p.Prefix != p.BasePrefix }

// MajorMinor is "3.11" for "3.11.2".
func (p Python) MajorMinor() string {
	parts := strings.SplitN(p.Version, ".", 3)
	if len(parts) < 2 {
		return p.Version
	}
	return parts[0] + "." + parts[1]
}

// BinDir is where console scripts of this interpreter's packages live.
func (p Python) BinDir() string { return filepath.Dir(p.Executable) }

// Module is the outcome of importing one module in the interpreter.
type Module struct {
	OK      bool   `json:"ok"`
	Version string `json:"version"`
	Error   string `json:"error"`
}

// Tools are host binaries and paths an adapter found during detection and
// needs again at launch (the uWSGI binary and plugin, Apache and mod_wsgi.so).
type Tools map[string]string

// Detection is what is known about the machine for availability decisions.
// Its functions are fields so tests can describe a machine without having it.
type Detection struct {
	Python   Python
	Modules  map[string]Module
	LookPath func(string) (string, error)
	Exists   func(string) bool
	Output   func(name string, args ...string) (string, error)
}

// Status is one adapter's availability for an interpreter.
type Status struct {
	Adapter   *Adapter
	Available bool
	Version   string
	Reason    string // why not, when unavailable
	Tools     Tools
}

// Detect asks the interpreter which server modules import and at which
// versions, then decides each adapter's availability.
func Detect(ctx context.Context, python string) (*Detection, []Status, error) {
	d, err := probePython(ctx, python)
	if err != nil {
		return nil, nil, err
	}
	return d, d.Statuses(), nil
}

// Statuses decides availability for every adapter.
func (d *Detection) Statuses() []Status {
	var out []Status
	for _, a := range All() {
		out = append(out, d.status(a))
	}
	return out
}

func (d *Detection) status(a *Adapter) Status {
	st := Status{Adapter: a}
	if a.Detect != nil {
		st.Version, st.Reason, st.Tools = a.Detect(d)
		st.Available = st.Reason == ""
		return st
	}
	for _, m := range a.Modules {
		mi, ok := d.Modules[m]
		if !ok || !mi.OK {
			st.Reason = importReason(m, mi)
			return st
		}
	}
	st.Available = true
	st.Version = d.Modules[a.Modules[0]].Version
	if a.Stdlib {
		st.Version = "Python " + d.Python.Version
	}
	return st
}

func importReason(m string, mi Module) string {
	if mi.Error == "" {
		return fmt.Sprintf("cannot import %s", m)
	}
	return fmt.Sprintf("cannot import %s: %s", m, mi.Error)
}

// modulesToProbe lists every module any adapter needs, with the distribution
// whose version stands for it ("module=dist").
func modulesToProbe() []string {
	seen := map[string]string{}
	for _, a := range All() {
		for i, m := range a.Modules {
			dist := ""
			if i == 0 {
				dist = a.Dist
			}
			if old, ok := seen[m]; !ok || old == "" {
				seen[m] = dist
			}
		}
	}
	for _, m := range extraModules {
		if _, ok := seen[m]; !ok {
			seen[m] = ""
		}
	}
	var out []string
	for m, dist := range seen {
		if dist != "" {
			m += "=" + dist
		}
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// extraModules are probed for adapters that decide for themselves (the
// hypercorn adapter needs asgiref only for hypercorn < 0.14).
var extraModules = []string{"asgiref.wsgi", "mod_wsgi.server", "httptools", "uvloop"}

func probePython(ctx context.Context, python string) (*Detection, error) {
	path, err := ResolvePython(python)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	args := append([]string{"-I", "-c", detectScript}, modulesToProbe()...)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = os.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("probing %s: %v: %s", path, err, lastLine(stderr.String()))
	}
	var rep struct {
		Python  Python            `json:"python"`
		Modules map[string]Module `json:"modules"`
	}
	// The answer is the last line: an imported package may print to stdout.
	if err := json.Unmarshal([]byte(lastLine(stdout.String())), &rep); err != nil {
		return nil, fmt.Errorf("probing %s: unreadable answer: %v", path, err)
	}
	rep.Python.Executable = path
	return &Detection{
		Python:   rep.Python,
		Modules:  rep.Modules,
		LookPath: exec.LookPath,
		Exists:   func(p string) bool { _, err := os.Stat(p); return err == nil },
		Output: func(name string, args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, name, args...).Output()
			return strings.TrimSpace(string(out)), err
		},
	}, nil
}

// ResolvePython turns --python into an absolute path without resolving
// symlinks: a virtualenv's bin/python is a symlink to the base interpreter,
// and following it would lose the virtualenv.
func ResolvePython(python string) (string, error) {
	if python == "" {
		python = DefaultPython()
	}
	if !strings.Contains(python, "/") {
		p, err := exec.LookPath(python)
		if err != nil {
			return "", fmt.Errorf("python interpreter %q not found on PATH", python)
		}
		python = p
	}
	abs, err := filepath.Abs(python)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		return "", fmt.Errorf("python interpreter %s does not exist", abs)
	}
	return abs, nil
}

// DefaultPython is the interpreter used without --python: an active
// virtualenv's (VIRTUAL_ENV) if any, else the system's /usr/bin/python3,
// where Debian's server packages are importable. A bare "python3" from PATH
// is deliberately not the default: on many machines it is a pyenv or
// Homebrew build that sees none of the system's packages.
func DefaultPython() string {
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		p := filepath.Join(v, "bin", "python")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// firstExisting returns the first path that exists.
func (d *Detection) firstExisting(paths ...string) string {
	for _, p := range paths {
		if p != "" && d.Exists(p) {
			return p
		}
	}
	return ""
}

var errNotFound = errors.New("not found")

// look finds a binary on PATH, in the interpreter's bin directory first (a
// pip-installed uwsgi lives beside the venv's python).
func (d *Detection) look(name string, extra ...string) (string, error) {
	if p := d.firstExisting(append([]string{filepath.Join(d.Python.BinDir(), name)}, extra...)...); p != "" {
		return p, nil
	}
	if d.LookPath != nil {
		if p, err := d.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errNotFound
}
