package front

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

// siteListen is the placeholder listen line of deploy's nginx site; the
// front replaces it with its loopback port.
const siteListen = "listen 80;"

// stubPath is where the front's status server answers stub_status.
const stubPath = "/wsgibench_stub_status"

// nginxSpec writes nginx.conf around deploy's site and returns nginx's
// command line. Everything nginx writes goes under the front's directory
// (-p prefix, pid, temp paths, logs; -e for messages before the config is
// read), so a private nginx touches nothing of the system's.
func (f *Front) nginxSpec(s Spec) (proc.Spec, error) {
	bin, err := lookPath("nginx")
	if err != nil {
		return proc.Spec{}, Check(Nginx)
	}
	site := s.Config.NginxSite
	if n := strings.Count(site, siteListen); n != 1 {
		return proc.Spec{}, fmt.Errorf("front nginx: the site has %d %q lines, want exactly one to replace with the front's port", n, siteListen)
	}
	site = strings.Replace(site, siteListen, "listen "+f.addr+";", 1)
	sport, err := proc.FreePort(s.Host)
	if err != nil {
		return proc.Spec{}, fmt.Errorf("front nginx: %w", err)
	}
	f.status = joinHostPort(s.Host, sport)
	for _, d := range []string{"logs", "temp"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return proc.Spec{}, fmt.Errorf("front nginx: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "site.conf"), []byte(site), 0o644); err != nil {
		return proc.Spec{}, fmt.Errorf("front nginx: %w", err)
	}
	// The site's "include uwsgi_params" resolves beside nginx.conf (-c
	// sets the config prefix): the parameters Debian's nginx ships.
	if err := os.WriteFile(filepath.Join(s.Dir, "uwsgi_params"), []byte(uwsgiParams), 0o644); err != nil {
		return proc.Spec{}, fmt.Errorf("front nginx: %w", err)
	}
	conf := nginxMain(s.Dir, f.status, max(1, len(s.CPUs)), os.Geteuid() == 0)
	path := filepath.Join(s.Dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return proc.Spec{}, fmt.Errorf("front nginx: %w", err)
	}
	return proc.Spec{Argv: []string{bin, "-p", s.Dir + "/", "-c", path, "-e", "stderr"}, Dir: s.Dir}, nil
}

// uwsgiParams is nginx's uwsgi_params file as Debian 12's nginx-common
// ships it (comments left out): the CGI-style variables uwsgi_pass sends
// the server, with HTTP_HOST from $host rather than the raw Host header
// (Debian's security workaround).
const uwsgiParams = `uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;

uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;

uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;

uwsgi_param  HTTP_HOST        $host;
`

// nginxMain is the main config: one worker per CPU of the front, the
// private paths, an access log with just what the counters need, deploy's
// site, and the loopback-only status server. As root the workers stay root:
// the private directories are not readable by nginx's default "nobody".
func nginxMain(dir, status string, workers int, root bool) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("# Written by wsgibench: a private nginx in front of the server under test.")
	p("daemon off;")
	p("master_process on;")
	if root {
		p("user root;")
	}
	p("worker_processes %d;", workers)
	p("pid %s;", filepath.Join(dir, "nginx.pid"))
	p("error_log %s warn;", filepath.Join(dir, "logs", "error.log"))
	p("events { worker_connections 4096; }")
	p("http {")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		p("    %s_temp_path %s;", t, filepath.Join(dir, "temp", t))
	}
	p("    default_type application/octet-stream;")
	p("    log_format wsgibench '$status $upstream_bytes_received';")
	p("    access_log %s wsgibench;", filepath.Join(dir, "logs", "access.log"))
	p("    include %s;", filepath.Join(dir, "site.conf"))
	p("    server {")
	p("        listen %s;", status)
	p("        access_log off;")
	p("        location = %s { stub_status; }", stubPath)
	p("    }")
	p("}")
	return b.String()
}

// stubStatus is nginx's stub_status page.
type stubStatus struct {
	Active, Accepted, Handled, Requests int64
}

// parseStubStatus reads:
//
//	Active connections: 1
//	server accepts handled requests
//	 16 16 31
//	Reading: 0 Writing: 1 Waiting: 0
func parseStubStatus(b []byte) (stubStatus, error) {
	var s stubStatus
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 3 {
		return s, fmt.Errorf("stub_status: %d lines, want 4", len(lines))
	}
	a, ok := strings.CutPrefix(strings.TrimSpace(lines[0]), "Active connections:")
	if !ok {
		return s, fmt.Errorf("stub_status: first line %q", lines[0])
	}
	var err error
	if s.Active, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64); err != nil {
		return s, fmt.Errorf("stub_status: active connections %q", a)
	}
	f := strings.Fields(lines[2])
	if len(f) != 3 {
		return s, fmt.Errorf("stub_status: counters line %q", lines[2])
	}
	for i, p := range []*int64{&s.Accepted, &s.Handled, &s.Requests} {
		if *p, err = strconv.ParseInt(f[i], 10, 64); err != nil || *p < 0 {
			return s, fmt.Errorf("stub_status: counter %q", f[i])
		}
	}
	return s, nil
}

var stubClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func (f *Front) stub(ctx context.Context) (stubStatus, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+f.status+stubPath, nil)
	if err != nil {
		return stubStatus{}, err
	}
	resp, err := stubClient.Do(req)
	if err != nil {
		return stubStatus{}, fmt.Errorf("nginx stub_status: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return stubStatus{}, fmt.Errorf("nginx stub_status: %w", err)
	}
	if resp.StatusCode != 200 {
		return stubStatus{}, fmt.Errorf("nginx stub_status: %s", resp.Status)
	}
	return parseStubStatus(b)
}

// logSize is the current size of one of nginx's logs (0 if not there yet).
func (f *Front) logSize(name string) int64 {
	fi, err := os.Stat(filepath.Join(f.dir, "logs", name))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readLog returns the bytes of a log between two offsets.
func (f *Front) readLog(name string, from, to int64) ([]byte, error) {
	if to <= from {
		return nil, nil
	}
	fh, err := os.Open(filepath.Join(f.dir, "logs", name))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b := make([]byte, to-from)
	n, err := fh.ReadAt(b, from)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return b[:n], nil
}

// countAccess reads access log lines "$status $upstream_bytes_received":
// a request reached the server once for every upstream attempt that got
// bytes back ("0, 512" is a failed connect, then a retry that worked;
// "-" never went upstream); 502 and 504 are nginx's own gateway errors.
func countAccess(b []byte, c *results.NginxCounters) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		status, up, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		for _, n := range strings.Split(up, ",") {
			if v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil && v > 0 {
				c.UpstreamRequests++
			}
		}
		switch status {
		case "502":
			c.Status502++
		case "504":
			c.Status504++
		}
	}
}

// countErrors classifies error log lines about the upstream at level error
// or worse: timeouts, connect failures, everything else (reset, closed
// prematurely, no live upstreams, invalid header).
func countErrors(b []byte, c *results.NginxCounters) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, "upstream") {
			continue
		}
		if !strings.Contains(l, "[error]") && !strings.Contains(l, "[crit]") &&
			!strings.Contains(l, "[alert]") && !strings.Contains(l, "[emerg]") {
			continue
		}
		switch {
		case strings.Contains(l, "timed out"):
			c.UpstreamTimeouts++
		case strings.Contains(l, "connect() failed") || strings.Contains(l, "connect() to"):
			c.UpstreamConnectFails++
		default:
			c.UpstreamErrors++
		}
	}
}
