package front

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/deploy"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

func TestMain(m *testing.M) {
	proc.Main()
	os.Exit(m.Run())
}

// backend is a tiny CRUD server: /ok for readiness and probes, and items
// that GET reads (cacheable for 5 s, as the reference app sends) and PUT
// overwrites. It counts the requests that reach it.
type backend struct {
	*httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex // guards items
	items map[string]string
}

func newBackend(t *testing.T) *backend {
	b := &backend{items: map[string]string{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		switch {
		case r.URL.Path == "/ok":
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, "ok")
		case strings.HasPrefix(r.URL.Path, "/items/"):
			b.mu.Lock()
			defer b.mu.Unlock()
			if r.Method == "PUT" {
				body, _ := io.ReadAll(r.Body)
				b.items[r.URL.Path] = string(body)
				w.Header().Set("Cache-Control", "no-store")
				io.WriteString(w, string(body))
				return
			}
			w.Header().Set("Cache-Control", "public, max-age=5")
			io.WriteString(w, "v="+b.items[r.URL.Path])
		default:
			w.Header().Set("Cache-Control", "no-store")
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return strings.TrimPrefix(b.URL, "http://") }

// config is what deploy writes for a gunicorn-gthread server at the
// backend's address.
func config(t *testing.T, addr string) Config {
	t.Helper()
	c, err := FromDeploy(deploy.Input{Server: "gunicorn-gthread", Shape: results.Shape{Workers: 2, Threads: 4},
		App: "app:application", Listen: addr, HealthPath: "/ok"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func need(t *testing.T, k Kind) {
	t.Helper()
	if err := Check(k); err != nil {
		t.Skip(err)
	}
}

func startFront(t *testing.T, k Kind, c Config) *Front {
	t.Helper()
	// The context lives as long as the front: cancelling it stops the front.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f, err := Start(ctx, Spec{Kind: k, Dir: t.TempDir(), Config: c, ReadyPath: "/ok", ReadyTimeout: 20 * time.Second,
		Tag: fmt.Sprintf("front-test-%d-%s", os.Getpid(), t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Stop() })
	return f
}

var client = &http.Client{Timeout: 10 * time.Second}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stopped checks the front left no process: neither its tag nor any pid
// it had is alive in /proc.
func stopped(t *testing.T, f *Front) {
	t.Helper()
	pids := f.Group().Pids()
	if len(pids) == 0 {
		t.Fatal("the front had no processes while running")
	}
	if err := f.Stop(); err != nil && !strings.Contains(err.Error(), "signal") && !strings.Contains(err.Error(), "exit status") {
		t.Errorf("stop: %v", err)
	}
	if left := proc.Tagged(f.Group().Tag()); len(left) > 0 {
		t.Errorf("processes left with the front's tag: %v", left)
	}
	for _, p := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p)); err == nil && !strings.Contains(string(b), ") Z") {
			t.Errorf("front process %d still alive: %s", p, b)
		}
	}
}

func TestVarnish(t *testing.T) {
	need(t, Varnish)
	b := newBackend(t)
	f := startFront(t, Varnish, config(t, b.addr()))
	if f.Info().Version == "" || f.Info().Name != "varnish" {
		t.Errorf("info: %+v", f.Info())
	}
	base := "http://" + f.Addr()
	ctx := context.Background()
	before, err := f.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := b.hits.Load()
	// Two reads: a miss, then a hit the server never sees.
	for i, want := range []string{"v=", "v="} {
		if code, body := do(t, "GET", base+"/items/7", ""); code != 200 || body != want {
			t.Fatalf("read %d: %d %q", i, code, body)
		}
	}
	// A write passes through and invalidates the cached read.
	if code, _ := do(t, "PUT", base+"/items/7", "new"); code != 200 {
		t.Fatalf("PUT: %d", code)
	}
	if code, body := do(t, "GET", base+"/items/7", ""); code != 200 || body != "v=new" {
		t.Fatalf("read after write: %d %q (the write did not invalidate the cached item)", code, body)
	}
	for range 3 {
		do(t, "GET", base+"/ok", "")
	}
	// Varnish adds a session's counters to its totals when the session
	// ends, as the load generator's do when a trial ends.
	client.CloseIdleConnections()
	after, err := f.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Result(before, after, time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v := r.Varnish
	if v == nil || v.CacheHits < 1 || v.CacheMisses < 2 || v.Bans < 1 || v.ClientRequests < 7 {
		t.Errorf("counters did not move as expected: %+v", v)
	}
	// The server saw everything but the one hit (and perhaps a health probe).
	if got := b.hits.Load() - seen; got < 6 || r.ServerRequests < 6 || r.ServerRequests > got {
		t.Errorf("backend saw %d, Varnish says it sent %d", got, r.ServerRequests)
	}
	if r.HitRatio == nil || *r.HitRatio <= 0 || *r.HitRatio >= 1 {
		t.Errorf("hit ratio %v", r.HitRatio)
	}
	if r.ReuseRatio == nil || *r.ReuseRatio <= 0 {
		t.Errorf("reuse ratio %v: Varnish did not keep backend connections alive (%+v)", r.ReuseRatio, v)
	}
	stopped(t, f)
}

func TestNginx(t *testing.T) {
	need(t, Nginx)
	b := newBackend(t)
	f := startFront(t, Nginx, config(t, b.addr()))
	base := "http://" + f.Addr()
	ctx := context.Background()
	// nginx logs a request after answering it: let the readiness probe's
	// line land before the interval starts.
	time.Sleep(50 * time.Millisecond)
	before, err := f.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if code, _ := do(t, "GET", base+"/ok", ""); code != 200 {
			t.Fatalf("GET /ok through nginx: %d", code)
		}
	}
	b.Close() // the server goes away: nginx answers 502 and logs why
	if code, _ := do(t, "GET", base+"/ok", ""); code != 502 {
		t.Errorf("with the server gone nginx answered %d, want 502", code)
	}
	time.Sleep(50 * time.Millisecond) // the log line is written after the response
	after, err := f.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Result(before, after, 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := r.Nginx
	if n == nil || n.Requests != 6 || n.UpstreamRequests != 5 || n.Status502 != 1 || n.UpstreamConnectFails < 1 || n.Accepted < 1 {
		acc, _ := os.ReadFile(filepath.Join(f.dir, "logs", "access.log"))
		errs, _ := os.ReadFile(filepath.Join(f.dir, "logs", "error.log"))
		t.Errorf("counters: %+v\naccess.log:\n%s\nerror.log:\n%s", n, acc, errs)
	}
	if r.ServerRequests != 5 {
		t.Errorf("server requests %d, want 5 (the sixth never reached it)", r.ServerRequests)
	}
	stopped(t, f)
}

func TestRefusedConfig(t *testing.T) {
	cases := []struct {
		kind Kind
		edit func(Config) Config
		want string
	}{
		{Varnish, func(c Config) Config { c.VCL += "\nsub vcl_recv { frobnicate; }\n"; return c }, "Symbol not found: 'frobnicate'"},
		{Nginx, func(c Config) Config {
			c.NginxSite = strings.Replace(c.NginxSite, "server_name _;", "server_name _;\n    frobnicate on;", 1)
			return c
		}, `[emerg] unknown directive "frobnicate"`},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			need(t, tc.kind)
			b := newBackend(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tag := fmt.Sprintf("front-test-%d-%s", os.Getpid(), t.Name())
			_, err := Start(ctx, Spec{Kind: tc.kind, Dir: t.TempDir(), Config: tc.edit(config(t, b.addr())), ReadyPath: "/ok", Tag: tag})
			if err == nil {
				t.Fatal("a broken config started")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line with %q", msg, tc.want)
			}
			if left := proc.Tagged(tag); len(left) > 0 {
				t.Errorf("left running: %v", left)
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	saved := binaries[Varnish]
	binaries[Varnish] = []string{"varnishd-not-installed"}
	defer func() { binaries[Varnish] = saved }()
	_, err := Start(context.Background(), Spec{Kind: Varnish, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "varnishd-not-installed not found") || !strings.Contains(err.Error(), "apt-get install varnish") {
		t.Errorf("got %v", err)
	}
}

func TestSharesCPUs(t *testing.T) {
	for _, tc := range []struct {
		front, server []int
		want          bool
	}{{nil, []int{0}, true}, {[]int{1}, nil, true}, {[]int{1}, []int{0}, false}, {[]int{0, 1}, []int{1}, true}} {
		if got := shares(tc.front, tc.server); got != tc.want {
			t.Errorf("shares(%v, %v) = %v", tc.front, tc.server, got)
		}
	}
}

func TestConfigFromDeploy(t *testing.T) {
	c := config(t, "127.0.0.1:8123")
	for _, want := range []string{`.port = "8123";`, "std.ban(", "vcl 4.1;", ".initial = 3;"} {
		if !strings.Contains(c.VCL, want) {
			t.Errorf("VCL lacks %q", want)
		}
	}
	if len(c.VarnishParams) == 0 || !strings.HasPrefix(c.VarnishParams[0], "backend_idle_timeout=") {
		t.Errorf("params %v", c.VarnishParams)
	}
	if !strings.Contains(c.NginxSite, "server 127.0.0.1:8123") || strings.Count(c.NginxSite, siteListen) != 1 {
		t.Errorf("site:\n%s", c.NginxSite)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTrialCost is what a front adds to a trial: deploy's config
// rendered, the front started and ready (for Varnish: the VCL compiled and
// the health probe passed), its counters read before and after, and stopped.
// The server's own start and stop are the same with or without a front.
// Goal: under 1.5 s per trial.
func BenchmarkTrialCost(b *testing.B) {
	for _, k := range []Kind{Varnish, Nginx} {
		b.Run(string(k), func(b *testing.B) {
			if err := Check(k); err != nil {
				b.Skip(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
			defer srv.Close()
			addr := strings.TrimPrefix(srv.URL, "http://")
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				c, err := FromDeploy(deploy.Input{Server: "gunicorn-gthread", Shape: results.Shape{Workers: 2, Threads: 4},
					App: "app:application", Listen: addr, HealthPath: "/ok"}, filepath.Join(dir, "deploy"))
				if err != nil {
					b.Fatal(err)
				}
				f, err := Start(ctx, Spec{Kind: k, Dir: dir, Config: c, ReadyPath: "/ok", Tag: fmt.Sprintf("front-bench-%d-%d", os.Getpid(), i)})
				if err != nil {
					b.Fatal(err)
				}
				before, err := f.Snapshot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				after, err := f.Snapshot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Result(before, after, 0, time.Second); err != nil {
					b.Fatal(err)
				}
				f.Stop()
			}
		})
	}
}
