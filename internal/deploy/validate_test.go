package deploy

// Real validity checks: the generated files are fed to the tools that will
// read them in production (varnishd, nginx, systemd-analyze, Python,
// gunicorn, uWSGI, Apache), and every server installed here is started
// from its generated unit, probed on loopback and stopped the way systemd
// would stop it. A check whose tool is missing skips; each check also
// proves it can fail by feeding the tool a broken file.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

const systemPython = "/usr/bin/python3"

func need(t *testing.T, name string, alt ...string) string {
	t.Helper()
	for _, n := range append([]string{name}, alt...) {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skipf("%s not installed", name)
	return ""
}

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// generateAll renders every server's files with paths that exist on this
// machine (so systemd-analyze finds the executables) into one directory
// per server.
func generateAll(t *testing.T) map[string]string {
	t.Helper()
	root := t.TempDir()
	appDir := tinyApp(t)
	dirs := map[string]string{}
	for _, a := range server.All() {
		in := goldenInput(t, a)
		dir := filepath.Join(root, a.ID)
		in.ConfigDir, in.AppDir, in.Python, in.PythonHome = dir, appDir, systemPython, ""
		in.Argv = localArgv(in.Argv)
		if a.Family == "mod_wsgi" {
			// mod_wsgi resolves the daemon user at configtest time: it
			// must exist (the README says to create it first).
			in.User, in.Group = "www-data", "www-data"
		}
		if _, err := Generate(dir, in); err != nil {
			t.Fatalf("%s: %v", a.ID, err)
		}
		dirs[a.ID] = dir
	}
	return dirs
}

// localArgv points a measured uWSGI command line at this machine's uwsgi.
func localArgv(argv []string) []string {
	out := append([]string(nil), argv...)
	for i, a := range out {
		if a == "--virtualenv" && i+1 < len(out) {
			out = append(out[:i], out[i+2:]...)
			break
		}
	}
	return out
}

func TestVarnishCompiles(t *testing.T) {
	varnishd := need(t, "varnishd", "/usr/sbin/varnishd")
	all := generateAll(t)
	for id, dir := range all {
		vcl := filepath.Join(dir, "varnish.vcl")
		args := []string{"-C", "-j", "none", "-n", t.TempDir(), "-f", vcl}
		// The parameters the drop-in adds must be valid too (names,
		// minimums: backend_idle_timeout ≥ 1 s).
		params := dropInParams(t, filepath.Join(dir, "varnish.service.conf"))
		if len(params) == 0 {
			t.Errorf("%s: the varnish drop-in sets no -p parameters", id)
		}
		for _, p := range params {
			args = append(args, "-p", p)
		}
		if out, err := run(t, 60*time.Second, varnishd, args...); err != nil {
			t.Errorf("%s: varnishd -C rejects the VCL or parameters: %v\n%s", id, err, tail(out, 20))
		}
	}
	// The check can fail: an unknown backend attribute.
	bad := filepath.Join(t.TempDir(), "bad.vcl")
	os.WriteFile(bad, []byte("vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .idle_timeout = 3s; }\n"), 0o644)
	if _, err := run(t, 60*time.Second, varnishd, "-C", "-j", "none", "-n", t.TempDir(), "-f", bad); err == nil {
		t.Error("varnishd -C accepted a VCL with an unknown backend attribute; the check proves nothing")
	}
	if _, err := run(t, 60*time.Second, varnishd, "-C", "-j", "none", "-n", t.TempDir(), "-p", "backend_idle_timeout=0.5", "-f", filepath.Join(all["uwsgi"], "varnish.vcl")); err == nil {
		t.Error("varnishd accepted backend_idle_timeout below its 1 s minimum; the parameter check proves nothing")
	}
}

// dropInParams returns the -p values of the drop-in's ExecStart.
func dropInParams(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var params []string
	for _, line := range strings.Split(string(b), "\n") {
		cmd, ok := strings.CutPrefix(line, "ExecStart=")
		if !ok || cmd == "" {
			continue
		}
		f := strings.Fields(cmd)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "-p" {
				params = append(params, f[i+1])
			}
		}
	}
	return params
}

func TestNginxConfig(t *testing.T) {
	nginx := need(t, "nginx", "/usr/sbin/nginx")
	check := func(snippet string) (string, error) {
		d := t.TempDir()
		conf := filepath.Join(d, "test.conf")
		var b strings.Builder
		fmt.Fprintf(&b, "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  access_log off;\n", d, d)
		for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			fmt.Fprintf(&b, "  %s_temp_path %s/%s;\n", tmp, d, tmp)
		}
		fmt.Fprintf(&b, "  include %s;\n}\n", snippet)
		os.WriteFile(conf, []byte(b.String()), 0o644)
		return run(t, 30*time.Second, nginx, "-t", "-q", "-p", d, "-c", conf)
	}
	for id, dir := range generateAll(t) {
		if out, err := check(filepath.Join(dir, "nginx.conf")); err != nil {
			t.Errorf("%s: nginx -t rejects nginx.conf: %v\n%s", id, err, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("upstream u { server 127.0.0.1:1; keepalive_timeout; }\n"), 0o644)
	if _, err := check(bad); err == nil {
		t.Error("nginx -t accepted a broken upstream; the check proves nothing")
	}
}

func TestSystemdUnitsVerify(t *testing.T) {
	sa := need(t, "systemd-analyze")
	verify := func(unit string) string {
		out, err := run(t, 60*time.Second, sa, "verify", "--man=no", unit)
		// verify exits 0 on many problems (unknown keys, bad values are
		// "ignoring" warnings), so any line about our file is a failure.
		var bad []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, filepath.Base(unit)) || strings.Contains(l, filepath.Dir(unit)) {
				bad = append(bad, l)
			}
		}
		if err != nil && len(bad) == 0 {
			bad = append(bad, fmt.Sprintf("%v: %s", err, out))
		}
		return strings.Join(bad, "\n")
	}
	for id, dir := range generateAll(t) {
		unit := filepath.Join(dir, "wsgibench-app.service")
		if _, err := os.Stat(unit); err == nil {
			if msg := verify(unit); msg != "" {
				t.Errorf("%s: systemd-analyze verify: %s", id, msg)
			}
		} else if id != "mod_wsgi" {
			t.Errorf("%s: no systemd unit", id)
		}
		// The Varnish drop-in, applied to Debian's varnish.service.
		if pkg, err := os.ReadFile("/lib/systemd/system/varnish.service"); err == nil {
			vd := t.TempDir()
			os.WriteFile(filepath.Join(vd, "varnish.service"), pkg, 0o644)
			os.Mkdir(filepath.Join(vd, "varnish.service.d"), 0o755)
			copyFile(t, filepath.Join(dir, "varnish.service.conf"), filepath.Join(vd, "varnish.service.d", "wsgibench.conf"))
			if msg := verify(filepath.Join(vd, "varnish.service")); msg != "" {
				t.Errorf("%s: the varnish drop-in: %s", id, msg)
			}
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.service")
	os.WriteFile(bad, []byte("[Service]\nExecStart=/bin/true\nKillMode=sometimes\n"), 0o644)
	if verify(bad) == "" {
		t.Error("systemd-analyze accepted KillMode=sometimes; the check proves nothing")
	}
}

// TestPythonFilesCompile byte-compiles every generated Python file (configs,
// serve.py, app.wsgi, the bridge) for every server, installed or not.
func TestPythonFilesCompile(t *testing.T) {
	need(t, systemPython)
	var files []string
	for _, dir := range generateAll(t) {
		for _, pat := range []string{"*.py", "*.wsgi"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			files = append(files, m...)
		}
	}
	// py_compile of a .wsgi file needs an explicit target name.
	script := `import os, py_compile, sys, tempfile
d = tempfile.mkdtemp()
for i, f in enumerate(sys.argv[1:]):
    py_compile.compile(f, cfile=os.path.join(d, "%d.pyc" % i), doraise=True)`
	if out, err := run(t, 60*time.Second, systemPython, append([]string{"-c", script}, files...)...); err != nil {
		t.Errorf("python rejects a generated file: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.py")
	os.WriteFile(bad, []byte("x = (\n"), 0o644)
	if _, err := run(t, 30*time.Second, systemPython, "-c", script, bad); err == nil {
		t.Error("py_compile accepted a syntax error; the check proves nothing")
	}
}

func TestShellScriptsParse(t *testing.T) {
	sh := need(t, "sh")
	for id, dir := range generateAll(t) {
		m, _ := filepath.Glob(filepath.Join(dir, "*.sh"))
		for _, f := range m {
			if out, err := run(t, 10*time.Second, sh, "-n", f); err != nil {
				t.Errorf("%s: sh -n %s: %v\n%s", id, filepath.Base(f), err, out)
			}
			if fi, _ := os.Stat(f); fi.Mode()&0o111 == 0 {
				t.Errorf("%s: %s is not executable (the unit runs it directly)", id, filepath.Base(f))
			}
		}
	}
}

func TestGunicornCheckConfig(t *testing.T) {
	det := detect(t)
	for _, id := range []string{"gunicorn-sync", "gunicorn-gthread", "gunicorn-gevent", "gunicorn-eventlet"} {
		if !det.available(id) {
			continue
		}
		dir := generateAll(t)[id]
		conf := filepath.Join(dir, "gunicorn.conf.py")
		out, err := run(t, 60*time.Second, systemPython, "-m", "gunicorn", "-c", conf, "--check-config", "deploytest_app:application")
		if err != nil {
			t.Errorf("%s: gunicorn --check-config: %v\n%s", id, err, out)
		}
	}
	// The check can fail: a setting gunicorn does not know.
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "bad.conf.py"), []byte("workers = 'many'\n"), 0o644)
	if !det.available("gunicorn-sync") {
		return
	}
	if _, err := run(t, 60*time.Second, systemPython, "-m", "gunicorn", "-c", filepath.Join(d, "bad.conf.py"), "--check-config", "deploytest_app:application"); err == nil {
		t.Error("gunicorn --check-config accepted workers='many'; the check proves nothing")
	}
}

func TestApacheConfigTest(t *testing.T) {
	det := detect(t)
	if !det.available("mod_wsgi") {
		t.Skip("mod_wsgi not available:", det.reason("mod_wsgi"))
	}
	dir := generateAll(t)["mod_wsgi"]
	conf := apacheTestConf(t, det.tools("mod_wsgi"), filepath.Join(dir, "wsgibench-mod_wsgi.conf"), 0)
	if out, err := run(t, 30*time.Second, det.tools("mod_wsgi")["apache"], "-t", "-f", conf); err != nil {
		t.Errorf("apache2 -t rejects the site: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("WSGIDaemonProcess x processes=two\n"), 0o644)
	if _, err := run(t, 30*time.Second, det.tools("mod_wsgi")["apache"], "-t", "-f", apacheTestConf(t, det.tools("mod_wsgi"), bad, 0)); err == nil {
		t.Error("apache2 -t accepted processes=two; the check proves nothing")
	}
}

// apacheTestConf is a minimal httpd.conf that loads what the site needs
// and Includes it, with every path private to the test.
func apacheTestConf(t *testing.T, tools server.Tools, site string, port int) string {
	d := t.TempDir()
	os.Chmod(d, 0o755)
	mods := tools["apache-modules"]
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	w("ServerRoot %q", d)
	w("PidFile %q", filepath.Join(d, "httpd.pid"))
	w("DefaultRuntimeDir %q", d)
	w("Mutex file:%s default", d)
	w("Define APACHE_LOG_DIR %s", d)
	w("ServerName localhost")
	w("LoadModule mpm_event_module %s", filepath.Join(mods, "mod_mpm_event.so"))
	w("LoadModule authz_core_module %s", filepath.Join(mods, "mod_authz_core.so"))
	w("LoadModule wsgi_module %s", tools["mod_wsgi"])
	w("ErrorLog %s", filepath.Join(d, "error.log"))
	w("WSGISocketPrefix %s", filepath.Join(d, "wsgi"))
	if os.Geteuid() == 0 {
		w("User www-data")
		w("Group www-data")
	}
	w("Include %s", site)
	conf := filepath.Join(d, "httpd.conf")
	os.WriteFile(conf, []byte(b.String()), 0o644)
	return conf
}

func TestUWSGIIniStrict(t *testing.T) {
	det := detect(t)
	if !det.available("uwsgi") {
		t.Skip("uwsgi not available:", det.reason("uwsgi"))
	}
	// strict = true makes uWSGI refuse unknown options, so a misspelt key
	// in the generated ini fails here; the live test below starts it.
	d := t.TempDir()
	bad := filepath.Join(d, "bad.ini")
	os.WriteFile(bad, []byte("[uwsgi]\nstrict = true\nplugin = "+det.tools("uwsgi")["uwsgi-plugin"]+"\nhttp11-sockett = 127.0.0.1:1\n"), 0o644)
	if out, err := run(t, 30*time.Second, det.tools("uwsgi")["uwsgi"], "--ini", bad); err == nil || !strings.Contains(out, "unknown") {
		t.Errorf("uwsgi accepted an unknown option under strict (%v): %s", err, tail(out, 5))
	}
}

// TestServe starts every server installed here from its generated files,
// the way the systemd unit would (ExecStart, WorkingDirectory,
// Environment; for mod_wsgi, Apache with the site included), then checks:
// it answers; the app sees its environment; a connection left idle for the
// proxy's idle timeout is still usable (the invariant the Varnish config
// rests on); and the unit's stop signal stops it within TimeoutStopSec,
// finishing a request in progress when the server claims a graceful stop.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	det := detect(t)
	appDir := tinyApp(t)
	for _, a := range server.All() {
		t.Run(a.ID, func(t *testing.T) {
			if !det.available(a.ID) {
				t.Skip("not installed:", det.reason(a.ID))
			}
			t.Parallel()
			serveOne(t, a, det, appDir)
		})
	}
}

func serveOne(t *testing.T, a *server.Adapter, det *detection, appDir string) {
	svc, in, p := launch(t, a, det, appDir, nil)
	base := "http://" + in.Listen
	// The app's environment reaches it through the family's own file (the
	// unit does not repeat it).
	if body, err := get(base + "/env"); err != nil || body != in.Env["DEPLOYTEST_VALUE"] {
		t.Errorf("the app sees DEPLOYTEST_VALUE=%q (%v), want %q", body, err, in.Env["DEPLOYTEST_VALUE"])
	}
	if err := checkIdle(in.Listen, p); err != nil {
		t.Error(err)
	}
	checkStop(t, svc, base, p)
}

// launch generates a server's files for this machine and starts it the way
// its unit (or, for mod_wsgi, Apache) would, returning once it answers.
func launch(t *testing.T, a *server.Adapter, det *detection, appDir string, mutate func(*Input)) (*service, Input, *plan) {
	t.Helper()
	port := freePort(t)
	tg := server.Target{Python: det.d.Python, App: "deploytest_app:application", AppDir: appDir,
		Host: "127.0.0.1", Port: 1, Dir: "/tmp/measured-launch", Tools: det.tools(a.ID)}
	f, shape := resultsFor(t, a, tg, server.Shape{Workers: 2, Threads: 2})
	in, err := FromResults(f, results.Rank{Server: a.ID, Shape: shape})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in.ConfigDir, in.Listen = dir, fmt.Sprintf("127.0.0.1:%d", port)
	in.Env = map[string]string{"DEPLOYTEST_VALUE": "it's $HOME & \"quoted\" 100% ; not # a comment"}
	if a.Family == "mod_wsgi" {
		in.User, in.Group = "www-data", "www-data"
		os.Chmod(dir, 0o755)
		os.Chmod(filepath.Dir(dir), 0o755)
	}
	if mutate != nil {
		mutate(&in)
	}
	if _, err := Generate(dir, in); err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	var svc *service
	if a.Family == "mod_wsgi" {
		conf := apacheTestConf(t, det.tools(a.ID), filepath.Join(dir, "wsgibench-mod_wsgi.conf"), port)
		svc = startService(t, []string{det.tools(a.ID)["apache"], "-f", conf, "-DFOREGROUND"}, "", nil, "SIGTERM", "control-group", 15)
	} else {
		u := parseUnit(t, filepath.Join(dir, "wsgibench-app.service"))
		stop, _ := strconv.Atoi(u.get("TimeoutStopSec"))
		env := u.env()
		var notify *net.UnixConn
		if u.get("Type") == "notify" {
			// Type=notify: systemd kills a service that never sends
			// READY=1, so the server must really send it.
			notify = notifySocket(t)
			env = append(env, "NOTIFY_SOCKET="+notify.LocalAddr().String())
		}
		svc = startService(t, splitExec(t, u.get("ExecStart")), u.get("WorkingDirectory"), env,
			u.get("KillSignal"), u.get("KillMode"), stop)
		if notify != nil {
			if err := waitReadyNotification(notify, 30*time.Second); err != nil {
				t.Errorf("the unit says Type=notify but %s: %v", a.ID, err)
			}
		}
	}
	if err := svc.waitReady("http://"+in.Listen+in.HealthPath, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return svc, in, p
}

// TestIdleCheckCanFail claims a keep-alive longer than gunicorn's real one,
// so the proxy idle timeout derived from it (6 s) outlives gunicorn's 5 s:
// checkIdle must catch the closed connection.
func TestIdleCheckCanFail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	det := detect(t)
	if !det.available("gunicorn-gthread") {
		t.Skip("gunicorn not available")
	}
	a, _ := server.Lookup("gunicorn-gthread")
	_, in, _ := launch(t, a, det, tinyApp(t), nil)
	lying := *mustPlan(t, in)
	lying.Proxy.IdleTimeout = 6 * time.Second
	if err := checkIdle(in.Listen, &lying); err == nil {
		t.Error("a 6 s idle timeout against gunicorn's 5 s keep-alive passed checkIdle; the check proves nothing")
	}
}

func mustPlan(t *testing.T, in Input) *plan {
	p, err := newPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkIdle: a connection idle for the proxy's idle timeout (capped at 6 s
// to bound the test) must still serve a request; a server that claims to
// close every connection must do so.
func checkIdle(addr string, p *plan) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	roundTrip := func() (*http.Response, error) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			return nil, err
		}
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := roundTrip()
	if err != nil {
		return err
	}
	if !p.Proxy.Reuse {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%s is configured as closing every connection, but kept it open (%v, Connection: %q)", p.Server, err, resp.Header.Get("Connection"))
		}
		return nil
	}
	if resp.Close {
		return fmt.Errorf("%s closed a keep-alive connection after one response, but the proxy is configured to reuse them", p.Server)
	}
	wait := min(p.Proxy.IdleTimeout, 6*time.Second)
	time.Sleep(wait)
	if _, err := roundTrip(); err != nil {
		return fmt.Errorf("%s closed a connection idle for %v; the proxy reuses connections idle up to %v (backend_idle_timeout): %v",
			p.Server, wait, p.Proxy.IdleTimeout, err)
	}
	return nil
}

// checkStop sends the unit's stop signal with a slow request in flight.
func checkStop(t *testing.T, svc *service, base string, p *plan) {
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		b, err := get(base + "/slow")
		done <- result{b, err}
	}()
	time.Sleep(400 * time.Millisecond) // the request is in the app's sleep
	start := time.Now()
	if err := svc.stop(); err != nil {
		t.Fatal(err)
	}
	stopped := svc.waitExit(time.Duration(svc.stopSec)*time.Second + 2*time.Second)
	if !stopped {
		t.Errorf("%s did not stop within TimeoutStopSec=%d after %s (systemd would SIGKILL it)", p.Server, svc.stopSec, svc.signal)
		return
	}
	r := <-done
	if p.Unit != nil && p.Unit.Drains && (r.err != nil || r.body != "slow") {
		t.Errorf("%s is configured for a graceful stop (%s) but dropped a request in progress: %q %v",
			p.Server, p.Unit.KillSignalWhy, r.body, r.err)
	}
	if !svc.groupGone(3 * time.Second) {
		t.Errorf("%s: processes left behind %v after the main process exited", p.Server, time.Since(start).Round(time.Millisecond))
	}
}

// service is a server process group started like systemd would start it.
type service struct {
	t       *testing.T
	cmd     *exec.Cmd
	signal  string
	mode    string
	stopSec int
	exited  chan struct{}
	mu      sync.Mutex // guards out
	out     strings.Builder
}

func (s *service) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Write(b)
}

func (s *service) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func startService(t *testing.T, argv []string, wd string, env []string, signal, mode string, stopSec int) *service {
	t.Helper()
	s := &service{t: t, signal: signal, mode: mode, stopSec: stopSec, exited: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Dir = wd
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", argv, err)
	}
	pgid := s.cmd.Process.Pid
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
		}
		if t.Failed() {
			t.Logf("server output:\n%s", tail(s.output(), 30))
		}
	})
	return s
}

func (s *service) waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited during start-up: %s", tail(s.output(), 20))
		default:
		}
		if _, err := get(url); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s within %v: %s", url, timeout, tail(s.output(), 20))
}

// stop sends the unit's KillSignal: to the main process only with
// KillMode=mixed, to every process otherwise (systemd signals the whole
// cgroup; here the process group stands in for it).
func (s *service) stop() error {
	sig := map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT}[s.signal]
	if sig == 0 {
		return fmt.Errorf("unexpected KillSignal %q", s.signal)
	}
	pid := s.cmd.Process.Pid
	if s.mode == "mixed" {
		return syscall.Kill(pid, sig)
	}
	return syscall.Kill(-pid, sig)
}

func (s *service) waitExit(timeout time.Duration) bool {
	select {
	case <-s.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (s *service) groupGone(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := syscall.Kill(-s.cmd.Process.Pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func get(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

// unit is a parsed systemd unit: key → values in order.
type unit map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			u[k] = append(u[k], v)
		}
	}
	return u
}

func (u unit) get(k string) string {
	if v := u[k]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// env decodes Environment= lines ("K=V" or quoted with \\, \" and %%).
func (u unit) env() []string {
	var out []string
	for _, v := range u["Environment"] {
		if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v)
		}
		out = append(out, strings.ReplaceAll(v, "%%", "%"))
	}
	return out
}

// splitExec splits an ExecStart line written with shQuote.
func splitExec(t *testing.T, s string) []string {
	var out []string
	var cur strings.Builder
	in, any := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			in, any = !in, true
		case c == ' ' && !in:
			if any {
				out = append(out, cur.String())
				cur.Reset()
				any = false
			}
		case c == '\\' && !in && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			any = true
		default:
			cur.WriteByte(c)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		t.Fatalf("empty ExecStart")
	}
	return out
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tinyApp writes a WSGI app with the endpoints the checks use: / (200), /env
// (the value of DEPLOYTEST_VALUE) and /slow (1.5 s, to be in flight during
// a stop).
func tinyApp(t *testing.T) string {
	return tinyAppIn(t, t.TempDir())
}

func tinyAppIn(t *testing.T, dir string) string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	src := `import os
import time


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/slow":
        time.sleep(1.5)
        body = b"slow"
    elif path == "/env":
        body = os.environ.get("DEPLOYTEST_VALUE", "(unset)").encode()
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`
	if err := os.WriteFile(filepath.Join(dir, "deploytest_app.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// detection is server.Detect for the system Python, once per test binary.
type detection struct {
	d        *server.Detection
	statuses map[string]server.Status
}

var (
	detectOnce sync.Once
	detected   *detection
	detectErr  error
)

func detect(t *testing.T) *detection {
	t.Helper()
	if _, err := os.Stat(systemPython); err != nil {
		t.Skip("no", systemPython)
	}
	detectOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		d, sts, err := server.Detect(ctx, systemPython)
		if err != nil {
			detectErr = err
			return
		}
		detected = &detection{d: d, statuses: map[string]server.Status{}}
		for _, s := range sts {
			detected.statuses[s.Adapter.ID] = s
		}
	})
	if detectErr != nil {
		t.Skip("detecting servers:", detectErr)
	}
	return detected
}

func (d *detection) available(id string) bool { return d.statuses[id].Available }
func (d *detection) reason(id string) string  { return d.statuses[id].Reason }
func (d *detection) tools(id string) server.Tools {
	return d.statuses[id].Tools
}

// TestThroughVarnish runs the generated VCL and varnishd parameters in a
// real varnishd in front of the generated server: the backend must turn
// healthy through the probe and requests (a GET and a POST with a body)
// must pass.
func TestThroughVarnish(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	varnishd := need(t, "varnishd", "/usr/sbin/varnishd")
	det := detect(t)
	appDir := tinyApp(t)
	for _, a := range server.All() {
		id := a.ID
		t.Run(id, func(t *testing.T) {
			if !det.available(id) {
				t.Skip("not installed:", det.reason(id))
			}
			t.Parallel()
			_, in, p := launch(t, a, det, appDir, nil)
			vport := freePort(t)
			args := []string{"-F", "-j", "none", "-n", t.TempDir(), "-a", fmt.Sprintf("127.0.0.1:%d", vport),
				"-T", "none", "-s", "malloc,16m", "-f", filepath.Join(in.ConfigDir, "varnish.vcl")}
			for _, p := range dropInParams(t, filepath.Join(in.ConfigDir, "varnish.service.conf")) {
				args = append(args, "-p", p)
			}
			v := startService(t, append([]string{varnishd}, args...), "", nil, "SIGTERM", "control-group", 10)
			front := fmt.Sprintf("http://127.0.0.1:%d", vport)
			// Sick until the first probe passes, then healthy.
			if err := v.waitReady(front+"/", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			resp, err := client.Post(front+"/env", "text/plain", strings.NewReader(strings.Repeat("x", 10000)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Varnish") == "" || string(body) != in.Env["DEPLOYTEST_VALUE"] {
				t.Errorf("POST through Varnish: %s, X-Varnish %q, body %q", resp.Status, resp.Header.Get("X-Varnish"), body)
			}
			if !p.Proxy.Reuse {
				// A server that closes every connection races its
				// answer against the rest of an unread body (Varnish
				// gets a reset while it still sends); that is not the
				// keep-alive check below.
				return
			}
			// /env answers without reading the body. A server that then
			// drops the kept-alive connection without saying so makes
			// the next request on it fail, and Varnish cannot resend a
			// POST whose body it has streamed: 503s on writes (uWSGI's
			// HTTP router did, for bodies larger than its first read,
			// until uwsgi.ini set post-buffering).
			big := strings.Repeat("x", 200000)
			failed := 0
			var last string
			for i := 0; i < 30; i++ {
				resp, err := client.Post(front+"/env", "text/plain", strings.NewReader(big))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed++
					last = resp.Status
				}
			}
			if failed > 0 {
				t.Errorf("%d of 30 POSTs of 200 KB the app does not read failed through Varnish (last: %s)", failed, last)
			}
		})
	}
}

// notifySocket stands in for systemd's notification socket.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	d, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(d, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitReadyNotification(c *net.UnixConn, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	var got []string
	for {
		n, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("no READY=1 within %v (got %q): %w", timeout, got, err)
		}
		msg := string(buf[:n])
		got = append(got, msg)
		for _, l := range strings.Split(msg, "\n") {
			if l == "READY=1" {
				return nil
			}
		}
	}
}

// TestNginxOverUnixSocket: measured behind nginx over a unix socket, the
// configs say so together: nginx's upstream is the socket (uwsgi_pass for
// uWSGI's protocol, without keepalive; proxy_pass with keepalive for
// gunicorn's HTTP), the server binds it, and nginx -t takes the site.
func TestNginxOverUnixSocket(t *testing.T) {
	nginx := need(t, "nginx", "/usr/sbin/nginx")
	appDir := tinyApp(t)
	for _, tc := range []struct {
		id      string
		proto   server.Protocol
		conf    string // the server's config file, and what it must bind
		binds   string
		want    []string
		mustNot []string
	}{
		{"uwsgi", server.UWSGI, "uwsgi.ini", "uwsgi-socket = ",
			[]string{"uwsgi_pass wsgibench_app;", "include uwsgi_params;", "uwsgi_read_timeout"},
			[]string{"\n    keepalive ", "proxy_pass", "# location / {"}},
		{"gunicorn-gthread", server.HTTPUnix, "gunicorn.conf.py", `"unix:`,
			[]string{"proxy_pass http://wsgibench_app;", "\n    keepalive ", "proxy_http_version 1.1;"},
			[]string{"uwsgi_pass"}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			var a *server.Adapter
			for _, x := range server.All() {
				if x.ID == tc.id {
					a = x
				}
			}
			d := t.TempDir()
			sock := filepath.Join(d, "app.sock")
			in := goldenInput(t, a)
			in.ConfigDir, in.AppDir, in.Python, in.PythonHome = d, appDir, systemPython, ""
			in.Argv = localArgv(in.Argv)
			in.Upstream = Upstream{Protocol: tc.proto, Socket: sock}
			if _, err := Generate(d, in); err != nil {
				t.Fatal(err)
			}
			site, _ := os.ReadFile(filepath.Join(d, "nginx.conf"))
			if !strings.Contains(string(site), "server unix:"+sock+" ") {
				t.Errorf("nginx.conf's upstream is not the socket:\n%s", site)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(site), w) {
					t.Errorf("nginx.conf lacks %q:\n%s", w, site)
				}
			}
			for _, w := range tc.mustNot {
				if strings.Contains(string(site), w) {
					t.Errorf("nginx.conf has %q:\n%s", w, site)
				}
			}
			conf, _ := os.ReadFile(filepath.Join(d, tc.conf))
			if !strings.Contains(string(conf), tc.binds) || !strings.Contains(string(conf), sock) {
				t.Errorf("%s does not bind %s:\n%s", tc.conf, sock, conf)
			}
			// nginx -t, with the uwsgi_params the site includes beside it.
			params, err := os.ReadFile("/etc/nginx/uwsgi_params")
			if err != nil {
				t.Skip("no /etc/nginx/uwsgi_params:", err)
			}
			os.WriteFile(filepath.Join(d, "uwsgi_params"), params, 0o644)
			var b strings.Builder
			fmt.Fprintf(&b, "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  access_log off;\n", d, d)
			for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
				fmt.Fprintf(&b, "  %s_temp_path %s/%s;\n", tmp, d, tmp)
			}
			fmt.Fprintf(&b, "  include %s;\n}\n", filepath.Join(d, "nginx.conf"))
			main := filepath.Join(d, "test.conf")
			os.WriteFile(main, []byte(b.String()), 0o644)
			if out, err := run(t, 30*time.Second, nginx, "-t", "-q", "-p", d, "-c", main); err != nil {
				t.Errorf("nginx -t: %v\n%s", err, out)
			}
		})
	}
}
