package deploy

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/wsgibench/wsgibench/internal/server"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"sh":      shQuote,
	"shjoin":  shellJoin,
	"py":      pyStr,
	"dur":     fmtDur,
	"secsF":   func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) },
	"secs":    wholeSecs,
	"wrap":    wrap,
	"ini":     iniValue,
	"cap":     capFirst,
	"envFile": envFile,
	"hang": func(prefix, text string) string {
		return strings.ReplaceAll(wrap(prefix, text), "\n"+prefix, "\n"+prefix+"  ")
	},
	"keys":  sortedKeys,
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"add":   func(a, b int) int { return a + b },
	"why": func(s string) string {
		if s == "" {
			return ""
		}
		return ": " + s
	},
	"typeWhy":   typeWhy,
	"mib":       func(b float64) string { return strconv.FormatFloat(b/(1<<20), 'f', 1, 64) },
	"hasPrefix": strings.HasPrefix,
	"hasSuffix": strings.HasSuffix,
	"list":      func(a ...string) []string { return a },
	"cfg":       func(p *plan, name string) string { return filepath.Join(p.ConfigDir, name) },
}).ParseFS(templateFS, "templates/*.tmpl"))

// Generate writes the deployment files for in into dir (created if
// missing) and returns their paths, the README last. It refuses inputs it
// cannot write safely (relative paths, characters that would need quoting
// in some config format) and servers it has no generator for, rather than
// writing a config that looks right and is not.
func Generate(dir string, in Input) ([]string, error) {
	p, err := newPlan(in)
	if err != nil {
		return nil, err
	}
	files, err := p.render()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	var written []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return written, fmt.Errorf("deploy: writing %s: %w", f.name, err)
		}
		// WriteFile keeps an existing file's mode; scripts must be executable.
		if err := os.Chmod(path, f.mode); err != nil {
			return written, fmt.Errorf("deploy: %w", err)
		}
		written = append(written, path)
	}
	return written, nil
}

type outFile struct {
	name string
	data []byte
	mode os.FileMode
}

// render produces every file in memory, so a template error writes
// nothing.
func (p *plan) render() ([]outFile, error) {
	var out []outFile
	add := func(name, tmpl string, mode os.FileMode, what, installTo string) error {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, tmpl, p); err != nil {
			return fmt.Errorf("deploy: rendering %s: %w", name, err)
		}
		out = append(out, outFile{name, b.Bytes(), mode})
		p.Files = append(p.Files, fileDoc{Name: name, What: what, InstallTo: installTo})
		return nil
	}
	raw := func(name string, b []byte, mode os.FileMode, what, installTo string) error {
		out = append(out, outFile{name, b, mode})
		p.Files = append(p.Files, fileDoc{Name: name, What: what, InstallTo: installTo})
		return nil
	}
	cfg := func(name string) string { return filepath.Join(p.ConfigDir, name) }
	var err error
	switch p.Kind {
	case server.ConfigGunicorn:
		err = add("gunicorn.conf.py", "gunicorn.conf.py.tmpl", 0o644, "gunicorn's configuration: the measured shape and settings", cfg("gunicorn.conf.py"))
	case server.ConfigUWSGI:
		err = add("uwsgi.ini", "uwsgi.ini.tmpl", 0o644, "uWSGI's configuration: the measured command line as ini options", cfg("uwsgi.ini"))
	case server.ConfigApache:
		err = add("wsgibench-mod_wsgi.conf", "mod_wsgi.conf.tmpl", 0o644, "an Apache site: Listen, WSGIDaemonProcess with the measured processes/threads, the vhost",
			"/etc/apache2/sites-available/wsgibench-mod_wsgi.conf")
		if err == nil {
			err = add("app.wsgi", "app.wsgi.tmpl", 0o644, "the WSGI script mod_wsgi loads: sets the app's environment and imports it", cfg("app.wsgi"))
		}
	case server.ConfigScript:
		err = add(p.Family+".sh", "command.sh.tmpl", 0o755, "the measured command line, with the production address and paths", cfg(p.Family+".sh"))
		if err == nil && p.Facts.Deploy.Bridge {
			err = raw("wsgibench_asgi_bridge.py", server.Bridge(), 0o644,
				"wsgibench's thread-pool WSGI-to-ASGI bridge that hypercorn was measured through (hypercorn before 0.14 cannot serve WSGI)", cfg("wsgibench_asgi_bridge.py"))
		}
	case server.ConfigRunner:
		err = add("serve.py", "serve_"+p.Family+".py.tmpl", 0o644, "start-up script: the server's Python API called the way it was measured", cfg("serve.py"))
	}
	if err != nil {
		return nil, err
	}
	if p.Unit != nil {
		if err := add("wsgibench-app.service", "unit.service.tmpl", 0o644, "systemd unit that runs the server", "/etc/systemd/system/wsgibench-app.service"); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct{ name, tmpl, what, to string }{
		{"varnish.vcl", "varnish.vcl.tmpl", "Varnish backend for the server: timeouts, health probe, connection limit", "/etc/varnish/default.vcl"},
		{"varnish.service.conf", "varnish.service.conf.tmpl", "systemd drop-in for varnish.service: sets backend_idle_timeout, a varnishd parameter VCL cannot set",
			"/etc/systemd/system/varnish.service.d/wsgibench.conf"},
		{"nginx.conf", "nginx.conf.tmpl", "the same limits for nginx, if nginx is the proxy instead of Varnish", "/etc/nginx/conf.d/wsgibench.conf"},
	} {
		if err := add(f.name, f.tmpl, 0o644, f.what, f.to); err != nil {
			return nil, err
		}
	}
	if err := add("README.md", "README.md.tmpl", 0o644, "", ""); err != nil {
		return nil, err
	}
	return out, nil
}

// wrap breaks text into lines of at most 76 columns, each starting with
// prefix ("# ", "; ", "    # ").
func wrap(prefix, text string) string {
	var b strings.Builder
	line := prefix
	for _, w := range strings.Fields(text) {
		if len(line) > len(prefix) && len(line)+1+len(w) > 76 {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += w
	}
	b.WriteString(strings.TrimRight(line, " "))
	return b.String()
}

// Opt is a measured value: Settings[key], else the value of flag on the
// measured command line, else def.
func (p *plan) Opt(key, flag, def string) string {
	if v, ok := p.Settings[key]; ok && key != "" {
		return v
	}
	if v, ok := argValue(p.Argv, flag); ok {
		return v
	}
	return def
}

// LimitOpt is one of the record's limits as a config value in seconds:
// measured where launch records it, else the server's default.
func (p *plan) LimitOpt(l server.Limit) string {
	return p.Opt(l.Key, l.Flag, server.Secs(l.Default))
}

// Measured says "measured" or "default" for a setting, for comments.
func (p *plan) Measured(key, flag string) string {
	if _, ok := p.Settings[key]; ok && key != "" {
		return "Measured"
	}
	if _, ok := argValue(p.Argv, flag); ok {
		return "Measured"
	}
	return "Not set when measured (the server's default)"
}

// GunicornClass is the worker class measured.
func (p *plan) GunicornClass() string {
	if c := p.Opt("worker_class", "--worker-class", ""); c != "" {
		return c
	}
	return strings.TrimPrefix(p.Server, "gunicorn-")
}

// GunicornExtra lists measured gunicorn options the config does not set
// explicitly, so a future adapter change shows up instead of vanishing.
// RemedyHelped says whether the server's remedy for uneven worker load
// was measured to help this run, so the config turns it on.
func (p *plan) RemedyHelped() bool {
	b := p.Balance
	return b.Flagged() && b.Remedy != nil && b.Remedy.Helped && p.Facts.Workers.Remedy.Setting != ""
}

// BalanceNote is the config comment on uneven worker load: what was
// measured, and what the remedy did; "" when the workers were even.
func (p *plan) BalanceNote() string {
	b := p.Balance
	if !b.Flagged() {
		return ""
	}
	s := fmt.Sprintf("Measured: workers were unevenly loaded in %d of %d trials (the busiest did up to %.1f× its fair share): keep-alive connections stay on the worker that accepted them.",
		b.Uneven, b.Trials, b.WorstMaxOverFair)
	switch {
	case b.Remedy == nil:
		return s
	case p.RemedyHelped():
		return s + " " + upperFirst(b.Remedy.Verdict) + ", so it is on."
	}
	return s + " " + upperFirst(b.Remedy.Verdict) + ", so it is left off."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (p *plan) GunicornExtra() []string {
	known := map[string]bool{"--bind": true, "--workers": true, "--worker-class": true, "--chdir": true,
		"--keep-alive": true, "--timeout": true, "--graceful-timeout": true, "--log-level": true,
		"--worker-tmp-dir": true, "--threads": true, "--worker-connections": true}
	var extra []string
	if len(p.Argv) < 3 {
		return nil
	}
	for _, o := range splitOptions(p.Argv[3 : len(p.Argv)-1]) {
		if !known[o.Flag] {
			extra = append(extra, strings.TrimSpace(o.Flag+" "+o.Value))
		}
	}
	return extra
}

// EnvList is the app's environment as sorted KEY=VALUE strings.
func (p *plan) EnvList() []string {
	var out []string
	for _, k := range sortedKeys(p.Env) {
		out = append(out, k+"="+p.Env[k])
	}
	return out
}

// Module and Callable split App.
func (p *plan) Module() string   { m, _, _ := strings.Cut(p.App, ":"); return m }
func (p *plan) Callable() string { _, c, _ := strings.Cut(p.App, ":"); return c }

// IPv6 reports whether the listen host is an IPv6 address.
func (p *plan) IPv6() bool { return strings.Contains(p.Host, ":") }

// ShapeText is "4 workers × 8 threads" in words.
func (p *plan) ShapeText() string {
	w, t := p.Shape.Workers, p.Shape.Threads
	ws := plural(w, "process", "processes")
	if t == 0 {
		return ws + ", a thread per connection"
	}
	return ws + " × " + plural(t, "thread", "threads")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Header is the comment block every generated file starts with: what it
// is, which server and shape, and the measurement it rests on. prefix is
// the format's comment marker ("#", ";").
func (p *plan) Header(prefix, title string) string {
	var lines []string
	add := func(s string) { lines = append(lines, wrap(prefix+" ", s)) }
	add(title + " Generated by wsgibench from a measurement; README.md explains every file.")
	lines = append(lines, prefix)
	s := p.Server
	if p.Version != "" {
		s += " " + p.Version
	}
	if p.Model != "" {
		s += " (" + p.Model + " model)"
	}
	add("Server:   " + s)
	add("Shape:    " + p.ShapeText() + " (the measured best shape)")
	if p.Capacity > 0 {
		add(fmt.Sprintf("Serves:   %s at a time (%s)", plural(p.Capacity, "request", "requests"), p.CapacityHow))
	} else {
		add("Serves:   any number of requests at a time (" + p.CapacityHow + ")")
	}
	if h := p.Headline(); h != "" {
		add("Measured: " + h)
	}
	if p.MeasuredArgv != "" {
		add("Benchmark command line (its own loopback port and temporary paths; everything else is carried over):")
		lines = append(lines, wrap(prefix+"   ", p.MeasuredArgv))
	}
	return strings.Join(lines, "\n")
}

// Headline is the measurement in one line, or "" without a summary.
func (p *plan) Headline() string {
	e := p.Evidence
	s := e.Summary
	if s == nil {
		return ""
	}
	h := fmt.Sprintf("%.0f req/s, p50 %.2f ms, p99 %.2f ms", s.RPS.Median, s.P50MS.Median, s.P99MS.Median)
	if e.Workload != "" {
		h = fmt.Sprintf("workload %q, %d connections: %s", e.Workload, e.Connections, h)
	}
	if s.RPS.N > 0 {
		h += fmt.Sprintf(" (medians of %d trials)", s.RPS.N)
	}
	return h
}

func typeWhy(t string) string {
	if t == "notify" {
		return "the server tells systemd when it is ready (sd_notify), so `systemctl start` returns once it accepts connections and a failed start is reported as one"
	}
	return "systemd reports a start as failed if the program cannot be executed; readiness is what the proxy's health probe checks"
}

// Apache reports whether Apache runs the server (mod_wsgi).
func (p *plan) Apache() bool { return p.Kind == server.ConfigApache }

// envFile names the file that carries the app's environment.
func envFile(p *plan) string {
	switch p.Kind {
	case server.ConfigGunicorn:
		return "gunicorn.conf.py (raw_env)"
	case server.ConfigUWSGI:
		return "uwsgi.ini (env)"
	case server.ConfigApache:
		return "app.wsgi"
	case server.ConfigScript:
		return p.Family + ".sh"
	}
	return "serve.py"
}

// Notes are the caveats worth a person's attention, for the README.
func (p *plan) Notes() []string {
	var out []string
	out = append(out, p.Warnings...)
	if p.Dev {
		out = append(out, "**"+p.Family+" is a development server: do not use it in production.** It was benchmarked for comparison only.")
	}
	if p.Note != "" {
		out = append(out, strings.ToUpper(p.Note[:1])+p.Note[1:]+".")
	}
	if p.T.NoKeepAlive {
		out = append(out, p.Server+" closes the connection after every response, so Varnish opens a new backend connection per request: cheap on loopback, but each leaves a TIME_WAIT socket; at thousands of requests a second watch net.ipv4.ip_local_port_range and consider net.ipv4.tcp_tw_reuse=1.")
	}
	if p.Proxy.ProbeWhy != "" {
		out = append(out, p.Proxy.ProbeWhy)
	}
	if p.Kind == server.ConfigUWSGI {
		out = append(out, p.uwsgiNotes()...)
	}
	fill := strings.NewReplacer("{version}", p.Version, "{graceful}", fmtDur(p.T.Graceful))
	for _, n := range p.Facts.Deploy.Notes {
		out = append(out, fill.Replace(n))
	}
	if p.Evidence.Bundled {
		out = append(out, "The measurement used wsgibench's bundled reference app; re-run wsgibench with your app (--app) before trusting the absolute numbers.")
	}
	return out
}

// capFirst upper-cases the first letter, for reasons that start a sentence.
func capFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// NginxServer is the upstream server line's address: the unix socket the
// server was measured over behind nginx, else its TCP address.
func (p *plan) NginxServer() string {
	if p.Upstream.Socket != "" {
		return "unix:" + p.Upstream.Socket
	}
	return p.Listen
}

// NginxUWSGI: nginx speaks the uwsgi protocol to the server (uwsgi_pass),
// which has no keep-alive: one connection per request.
func (p *plan) NginxUWSGI() bool { return p.Upstream.Protocol == server.UWSGI }

// NginxReuse: nginx keeps connections to the server open, which the
// server must allow and the protocol must have.
func (p *plan) NginxReuse() bool { return p.Proxy.Reuse && !p.NginxUWSGI() }

// Reaches reports whether a front can reach the server over protocol, as
// its record's Front list says (nginx.conf offers uwsgi_pass only to a
// server that speaks the uwsgi protocol).
func (p *plan) Reaches(protocol string) bool {
	for _, r := range p.Facts.Front {
		if string(r.Protocol) == protocol {
			return true
		}
	}
	return false
}
