package load

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startNginx runs nginx with one worker serving a small file on a free
// loopback port, and returns its address.
func startNginx(t testing.TB, maxConns int) string {
	t.Helper()
	path, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed")
	}
	// Not t.TempDir: its parent is private, and the worker may run as an
	// unprivileged user.
	dir, err := os.MkdirTemp("", "load-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"stderr.log", "error.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > 0 {
					t.Logf("nginx %s:\n%s", name, b)
				}
			}
		}
		os.RemoveAll(dir)
	})
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(strings.Repeat("x", 512)), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections %[2]d; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 1000000000;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[3]s backlog=65535;
        root %[1]s;
    }
}
`, dir, maxConns*3/2+100, addr)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-done:
			t.Fatal("nginx exited")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vmHWM is this process's peak resident set size, from /proc/self/status.
func vmHWM(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// TestTenThousandConnections holds 10,000 keep-alive connections to nginx
// and checks the generator's memory stays within 200 MB.
func TestTenThousandConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	const conns = 10000
	addr := startNginx(t, conns)
	before := vmHWM(t)
	res, err := Run(context.Background(), Config{
		Addr:        addr,
		Mix:         []Template{{Path: "/index.html"}},
		Connections: conns,
		Duration:    4 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	peak := vmHWM(t)
	t.Logf("requests %d, opened %d, errors %+v, statuses %v, generator CPU %v, VmHWM %d MB before, %d MB after",
		res.Requests, res.ConnectionsOpened, res.Errors, res.StatusCounts, res.GeneratorCPU, before>>20, peak>>20)
	if peak > 200<<20 && !raceEnabled {
		t.Errorf("peak RSS %d MB, want at most 200 MB", peak>>20)
	}
	// Opening 10,000 connections takes CPU; the memory claim above holds
	// for however many opened, this one only when the generator had it.
	if !res.GeneratorStarved && (res.ConnectionsOpened < conns*9/10 || res.Requests < conns) {
		t.Errorf("opened %d connections and completed %d requests, want ~%d connections each answered", res.ConnectionsOpened, res.Requests, conns)
	}
	if res.Errors.Reset+res.Errors.Protocol+res.Errors.Status != 0 {
		t.Errorf("errors %+v", res.Errors)
	}
}

// BenchmarkNginx measures the generator's CPU per request against nginx,
// the figure bench/vs-wrk.sh compares with wrk. Each iteration is a
// one-second closed-model run; pin it for a meaningful number, e.g.
//
//	go test -c && taskset -c 1 ./load.test -test.run '^$' -test.bench Nginx -test.benchtime 5x
//
// with nginx pinned elsewhere (this starts its own, unpinned, unless
// LOAD_BENCH_ADDR names a running server).
func BenchmarkNginx(b *testing.B) {
	addr := os.Getenv("LOAD_BENCH_ADDR")
	if addr == "" {
		addr = startNginx(b, 1000)
	}
	var reqs int64
	var cpu, elapsed time.Duration
	for b.Loop() {
		res, err := Run(context.Background(), Config{
			Addr:        addr,
			Mix:         []Template{{Path: "/index.html"}},
			Connections: 50,
			Duration:    time.Second,
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.Errors.Total() != 0 {
			b.Fatalf("errors %+v", res.Errors)
		}
		reqs += res.Requests
		cpu += res.GeneratorCPU
		elapsed += res.Elapsed
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(reqs), "cpu-µs/req")
	b.ReportMetric(float64(reqs)/elapsed.Seconds(), "req/s")
}
