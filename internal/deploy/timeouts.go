package deploy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// measuredTimeouts reads the server's keep-alive, request timeout and
// graceful-stop window from what the benchmark configured (Settings, then
// the command line), falling back to the server's own default when the
// benchmark left it alone. Each default below is the server's behaviour,
// not a wish: the deploy tests check the keep-alive ones against the real
// servers installed here.
func measuredTimeouts(in Input, family string) Timeouts {
	r := reader{in: in}
	var t Timeouts
	switch family {
	case "gunicorn":
		t.KeepAlive = r.secs("keepalive", "--keep-alive", 2*time.Second, "keep-alive")
		t.Request = r.secs("timeout", "--timeout", 30*time.Second, "worker timeout")
		t.Graceful = r.secs("graceful_timeout", "--graceful-timeout", 30*time.Second, "graceful timeout")
		if in.Server == "gunicorn-sync" {
			t.KeepAlive, t.NoKeepAlive = 0, true
			r.note("the sync worker closes the connection after every response (keep-alive does not apply)")
		}
	case "uwsgi":
		t = uwsgiTimeouts(&r, in.Argv)
	case "mod_wsgi":
		t.KeepAlive = r.secs("KeepAliveTimeout", "", 5*time.Second, "KeepAliveTimeout")
		t.Request = r.secs("request-timeout", "", 0, "request-timeout")
		t.Graceful = 5 * time.Second // graceful-timeout=5 on WSGIDaemonProcess, as measured
	case "waitress":
		// channel_timeout closes connections idle that long; waitress
		// checks every cleanup_interval (30 s), so it closes them between
		// channel_timeout and channel_timeout+30 s, never earlier.
		t.KeepAlive = r.secs("channel_timeout", "--channel-timeout", 120*time.Second, "channel-timeout")
		r.note("waitress has no request timeout and stops without waiting for requests in progress")
	case "cheroot":
		t.KeepAlive = r.secs("timeout", "--timeout", 10*time.Second, "timeout (idle keep-alive)")
		t.Graceful = r.secs("shutdown_timeout", "--shutdown-timeout", 5*time.Second, "shutdown-timeout")
	case "uvicorn":
		t.KeepAlive = r.secs("timeout_keep_alive", "--timeout-keep-alive", 5*time.Second, "timeout-keep-alive")
		// uvicorn drains requests in progress on SIGTERM without a limit of
		// its own; systemd's TimeoutStopSec bounds it.
		t.Graceful = 5 * time.Second
	case "hypercorn":
		t.KeepAlive = r.secs("keep_alive", "--keep-alive", 5*time.Second, "keep-alive")
		t.Graceful = r.secs("graceful_timeout", "--graceful-timeout", 3*time.Second, "graceful-timeout")
	case "granian":
		// Not set on the command line measured, and granian's idle
		// keep-alive is not documented per version: assume a short one so
		// the proxy still drops idle connections first. Shortening the
		// proxy's idle timeout further only costs a loopback reconnect.
		t.KeepAlive = 5 * time.Second
		r.note("keep-alive 5 s assumed (granian's idle timeout was not configured or measured)")
		t.Graceful = 5 * time.Second
	case "tornado":
		t.KeepAlive = r.secs("idle_connection_timeout", "", 0, "idle_connection_timeout")
	case "meinheld":
		t.KeepAlive = r.secs("keepalive", "", 5*time.Second, "keepalive")
	case "wsgiref":
		t.NoKeepAlive = true
		r.note("wsgiref speaks HTTP/1.0 and closes the connection after every response")
	case "werkzeug":
		t.NoKeepAlive = true
		r.note("werkzeug's development server sends Connection: close on every response (werkzeug 2.2 does; older versions kept connections open, which Varnish's settings here also suit)")
	case "gevent":
		r.note("gevent.pywsgi never closes an idle keep-alive connection itself")
		t.Graceful = 5 * time.Second // set by serve.py; not measured
	case "eventlet", "paste", "bjoern":
		r.note(family + " never closes an idle keep-alive connection itself")
	case "twisted":
		r.note("Twisted closes idle connections only after 12 hours")
		t.Graceful = 5 * time.Second // set by serve.py; not measured
	}
	t.Source = strings.Join(r.notes, "; ")
	return t
}

// reader looks values up in the measured settings, then the command line.
type reader struct {
	in    Input
	notes []string
}

func (r *reader) note(s string) { r.notes = append(r.notes, s) }

// secs finds a duration in seconds: Settings[key], else the value of flag
// in Argv, else def (the server's default).
func (r *reader) secs(key, flag string, def time.Duration, what string) time.Duration {
	if v, ok := r.in.Settings[key]; ok && key != "" {
		if d, ok := parseSecs(v); ok {
			r.note(fmt.Sprintf("%s %s (measured)", what, fmtDur(d)))
			return d
		}
	}
	if v, ok := argValue(r.in.Argv, flag); ok {
		if d, ok := parseSecs(v); ok {
			r.note(fmt.Sprintf("%s %s (measured: %s)", what, fmtDur(d), flag+" "+v))
			return d
		}
	}
	if def == 0 {
		r.note(fmt.Sprintf("no %s (not set when measured)", what))
	} else {
		r.note(fmt.Sprintf("%s %s (the server's default; not changed when measured)", what, fmtDur(def)))
	}
	return def
}

// argValue finds "--flag value" or "--flag=value" in a command line.
func argValue(argv []string, flag string) (string, bool) {
	if flag == "" {
		return "", false
	}
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// parseSecs reads "5", "5.5" or "5s".
func parseSecs(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if d, err := time.ParseDuration(v); err == nil {
		return d, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// fmtDur writes whole seconds as "5s" (the VCL and nginx form) and
// anything else as Go prints it.
func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// wholeSecs rounds up to whole seconds, for configs that only take integers.
func wholeSecs(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
