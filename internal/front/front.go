package front

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

// Kind names a front.
type Kind string

// The fronts wsgibench can put in front of a server. None measures the
// server directly.
const (
	None    Kind = "none"
	Varnish Kind = "varnish"
	Nginx   Kind = "nginx"
)

// Kinds lists every value --front accepts.
func Kinds() []Kind { return []Kind{None, Varnish, Nginx} }

// ParseKinds reads --front's comma list ("none,varnish"). Empty means none.
// Duplicates are dropped; an unknown name is an error naming the known ones.
func ParseKinds(s string) ([]Kind, error) {
	if strings.TrimSpace(s) == "" {
		return []Kind{None}, nil
	}
	var out []Kind
	for _, f := range strings.Split(s, ",") {
		k := Kind(strings.ToLower(strings.TrimSpace(f)))
		if !slices.Contains(Kinds(), k) {
			return nil, fmt.Errorf("--front: unknown front %q (known: none, varnish, nginx)", strings.TrimSpace(f))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Config is what the front serves, as package deploy writes it for the
// server (see FromDeploy).
type Config struct {
	VCL           string   // varnish.vcl, its backend pointing at the server
	VarnishParams []string // varnishd -p name=value from varnish.service.conf
	NginxSite     string   // nginx.conf (http context): upstream + server block
}

// Spec describes one front to start.
type Spec struct {
	Kind   Kind
	Dir    string // private directory for the front's files; created, not removed
	Host   string // loopback address to listen on; default 127.0.0.1
	Config Config

	CPUs       []int // pin the front to these CPUs; nil = not pinned
	ServerCPUs []int // the server's CPUs, to say whether the front shares them
	Tag        string

	ReadyPath    string        // a path the app answers 2xx through the front; default "/"
	ReadyTimeout time.Duration // default 10 s

	// Connection and ConnectionNote describe how the front reaches the
	// server (see results.Front).
	Connection, ConnectionNote string
}

// Front is a running front. Its methods are safe for concurrent use.
type Front struct {
	kind    Kind
	group   *proc.Group
	addr    string // where clients (the load generator) connect
	status  string // nginx: the stub_status address
	dir     string
	version string
	info    results.Front
	cpus    int // CPUs its share is counted on

	stopOnce sync.Once
	stopErr  error
}

// Addr is host:port where the front listens.
func (f *Front) Addr() string { return f.addr }

// Kind is the front's kind.
func (f *Front) Kind() Kind { return f.kind }

// Group is the front's process tree, for sampling its CPU.
func (f *Front) Group() *proc.Group { return f.group }

// Info is the front's description (name, version, connection, CPUs), with no
// counters yet.
func (f *Front) Info() results.Front { return f.info }

// Stop stops the front and returns when none of its processes is left. It
// is idempotent.
func (f *Front) Stop() error {
	f.stopOnce.Do(func() { f.stopErr = f.group.Stop() })
	return f.stopErr
}

// binaries each front needs, with the Debian package that has them.
var binaries = map[Kind][]string{Varnish: {"varnishd", "varnishstat"}, Nginx: {"nginx"}}

// Check says, in one line, why a front cannot run here: an unknown kind or
// a missing binary.
func Check(k Kind) error {
	bins, ok := binaries[k]
	if !ok {
		return fmt.Errorf("front %q: unknown (known: varnish, nginx)", k)
	}
	for _, b := range bins {
		if _, err := lookPath(b); err != nil {
			return fmt.Errorf("front %s: %s not found in PATH or /usr/sbin (Debian: apt-get install %s)", k, b, k)
		}
	}
	return nil
}

// lookPath finds a binary in PATH, then in /usr/sbin and /sbin, which a
// non-root PATH often lacks although varnishd and nginx live there.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Start starts the front and returns once a GET of Spec.ReadyPath through it
// answers 2xx, which for Varnish also means its health probe found the
// server healthy. A config the front refuses fails with the front's own
// error line. Cancelling ctx stops the front.
func Start(ctx context.Context, s Spec) (*Front, error) {
	if err := Check(s.Kind); err != nil {
		return nil, err
	}
	if s.Host == "" {
		s.Host = "127.0.0.1"
	}
	if s.ReadyPath == "" {
		s.ReadyPath = "/"
	}
	if s.ReadyTimeout <= 0 {
		s.ReadyTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("front %s: %w", s.Kind, err)
	}
	port, err := proc.FreePort(s.Host)
	if err != nil {
		return nil, fmt.Errorf("front %s: %w", s.Kind, err)
	}
	f := &Front{kind: s.Kind, addr: joinHostPort(s.Host, port), dir: s.Dir}
	var ps proc.Spec
	switch s.Kind {
	case Varnish:
		ps, err = f.varnishSpec(s)
	case Nginx:
		ps, err = f.nginxSpec(s)
	}
	if err != nil {
		return nil, err
	}
	ps.Name, ps.CPUs, ps.Tag = string(s.Kind), s.CPUs, s.Tag
	ps.Grace = 3 * time.Second
	ps.StopSignal = syscall.SIGTERM
	ps.LogFile = filepath.Join(s.Dir, string(s.Kind)+".out")
	f.version = version(ctx, s.Kind)
	f.info = results.Front{Name: string(s.Kind), Version: f.version, Connection: s.Connection,
		ConnectionNote: s.ConnectionNote, CPUs: slices.Clone(s.CPUs), SharesCPUs: shares(s.CPUs, s.ServerCPUs)}
	f.cpus = len(s.CPUs)
	if f.cpus == 0 {
		f.cpus = runtime.NumCPU()
	}
	g, err := proc.Start(ctx, ps)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.Kind, err)
	}
	f.group = g
	if err := proc.WaitHTTP(ctx, g, f.addr, s.ReadyPath, s.ReadyTimeout); err != nil {
		select {
		case <-g.Done():
			f.Stop()
			return nil, fmt.Errorf("%s refused to start: %s", s.Kind, refusal(s.Kind, g.Output(0), err))
		default:
		}
		f.Stop()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("starting %s: %w", s.Kind, ctx.Err())
		}
		return nil, fmt.Errorf("%s started but did not answer GET %s with 2xx through to the server: %w", s.Kind, s.ReadyPath, err)
	}
	return f, nil
}

// shares reports whether a front on cpus competes with a server on server:
// an unpinned side shares everything.
func shares(cpus, server []int) bool {
	if len(cpus) == 0 || len(server) == 0 {
		return true
	}
	for _, c := range cpus {
		if slices.Contains(server, c) {
			return true
		}
	}
	return false
}

// refusal is the front's own error line from its output: nginx's [emerg]
// line, or the VCL compiler's message and position.
func refusal(k Kind, lines []string, fallback error) string {
	switch k {
	case Nginx:
		for _, l := range lines {
			if i := strings.Index(l, "[emerg]"); i >= 0 {
				return nginxMessage(l[i:])
			}
		}
	case Varnish:
		for i, l := range lines {
			if strings.TrimSpace(l) != "Message from VCC-compiler:" || i+1 >= len(lines) {
				continue
			}
			msg := strings.TrimSpace(lines[i+1])
			if i+2 < len(lines) {
				if at := strings.TrimSpace(lines[i+2]); strings.HasPrefix(at, "At: (") || strings.HasPrefix(at, "('") {
					msg += " " + strings.TrimPrefix(at, "At: ")
				}
			}
			return msg
		}
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "Error:") && len(strings.TrimSpace(l)) > len("Error:") {
				return strings.TrimSpace(l)
			}
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	var ee *proc.ExitError
	if errors.As(fallback, &ee) {
		return ee.Error()
	}
	return fallback.Error()
}

// nginxMessage drops the "pid#tid: " after nginx's level tag.
func nginxMessage(l string) string {
	level, rest, ok := strings.Cut(l, " ")
	if !ok {
		return l
	}
	if id, msg, ok := strings.Cut(rest, ": "); ok && strings.Contains(id, "#") && !strings.Contains(id, " ") {
		rest = msg
	}
	return level + " " + rest
}

var versions sync.Map // Kind → string

// version asks the binary once per process.
func version(ctx context.Context, k Kind) string {
	if v, ok := versions.Load(k); ok {
		return v.(string)
	}
	var bin, flag, marker string
	switch k {
	case Varnish:
		bin, flag, marker = "varnishd", "-V", "varnish-"
	case Nginx:
		bin, flag, marker = "nginx", "-v", "nginx/"
	}
	p, err := lookPath(bin)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, p, flag).CombinedOutput()
	v := parseVersion(string(out), marker)
	if v != "" {
		versions.Store(k, v)
	}
	return v
}

func parseVersion(out, marker string) string {
	i := strings.Index(out, marker)
	if i < 0 {
		return ""
	}
	v := out[i+len(marker):]
	if j := strings.IndexAny(v, " \n\r\t)"); j >= 0 {
		v = v[:j]
	}
	return v
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}
