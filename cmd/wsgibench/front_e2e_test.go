package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/results"
)

func needFront(t *testing.T, k front.Kind) {
	t.Helper()
	needServers(t)
	if err := front.Check(k); err != nil {
		t.Skip(err)
	}
}

// TestRunFront: one real server behind each front, short trials; the
// results carry the front's counters and nothing is left running.
func TestRunFront(t *testing.T) {
	for _, k := range []front.Kind{front.Varnish, front.Nginx} {
		t.Run(string(k), func(t *testing.T) {
			needFront(t, k)
			out := t.TempDir()
			// Behind nginx uWSGI too: it is reached over its own protocol.
			servers := map[front.Kind]string{front.Varnish: "gunicorn-gthread", front.Nginx: "gunicorn-gthread,uwsgi"}[k]
			r := runBinary(t, 2*time.Minute, "run", "--servers", servers, "--workers", "2", "--threads", "2",
				"--front", "none,"+string(k), "--duration", "1s", "--warmup", "300ms", "--trials", "1", "--connections", "4", "--no-check",
				"--no-capacity", "--no-probe", "--no-trouble", "--out", out)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			f, err := results.Read(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if want := 2 * len(strings.Split(servers, ",")); len(f.Runs) != want {
				t.Fatalf("%d runs, want one direct and one behind %s for each server", len(f.Runs), k)
			}
			for _, run := range f.Runs {
				if run.Error != "" || len(run.Trials) != 1 {
					t.Fatalf("%s: error %q, %d trials", run.Key(), run.Error, len(run.Trials))
				}
				tr := run.Trials[0]
				if run.Front == "" {
					if tr.Front != nil {
						t.Errorf("direct run has front counters: %+v", tr.Front)
					}
					continue
				}
				fr := tr.Front
				if run.Front != string(k) || fr == nil || fr.Name != string(k) || fr.Version == "" || fr.Connection == "" {
					t.Fatalf("%s: front %q, record %+v", run.Key(), run.Front, fr)
				}
				// Each server is reached the way its experts connect it.
				want := map[front.Kind]map[string]string{
					front.Varnish: {"gunicorn-gthread": "http keep-alive", "uwsgi": "http keep-alive"},
					front.Nginx:   {"gunicorn-gthread": "http keep-alive over a unix socket", "uwsgi": "uwsgi protocol over a unix socket, one connection per request"},
				}[k][run.Server]
				if fr.Connection != want || fr.ConnectionNote != "" {
					t.Errorf("%s: connection %q (%s), want %q", run.Key(), fr.Connection, fr.ConnectionNote, want)
				}
				if fr.ServerRequests <= 0 || fr.ServerRPS <= 0 || fr.CPUSeconds <= 0 {
					t.Errorf("server requests %d (%.0f/s), front CPU %.2f s", fr.ServerRequests, fr.ServerRPS, fr.CPUSeconds)
				}
				if tr.Errors.Total > 0 {
					t.Errorf("%d failed requests behind %s: %v", tr.Errors.Total, k, tr.StatusCounts)
				}
				switch k {
				case front.Varnish:
					v := fr.Varnish
					// crud reads items (cacheable 5 s) and writes them (a ban each).
					if v == nil || v.ClientRequests < tr.Requests || v.CacheMisses == 0 || v.Bans == 0 || fr.HitRatio == nil {
						t.Errorf("varnish counters %+v (client saw %d requests), hit ratio %v", v, tr.Requests, fr.HitRatio)
					}
					if fr.ServerRequests >= v.ClientRequests && v.CacheHits > 0 {
						t.Errorf("with %d hits the server still saw %d of %d requests", v.CacheHits, fr.ServerRequests, v.ClientRequests)
					}
				case front.Nginx:
					n := fr.Nginx
					if n == nil || n.Requests < tr.Requests || n.UpstreamRequests != fr.ServerRequests || n.Accepted < 1 {
						t.Errorf("nginx counters %+v (client saw %d requests)", n, tr.Requests)
					}
				}
			}
			if !strings.Contains(r.stderr, " "+string(k)+" ") {
				t.Errorf("progress log does not name the front:\n%s", r.stderr)
			}
			waitNoLeftovers(t, r.pid, 5*time.Second)
		})
	}
}

// TestFrontStopped: SIGKILL, or Ctrl-C, of wsgibench mid-trial takes the
// front down too.
func TestFrontStopped(t *testing.T) {
	for _, tc := range []struct {
		kind front.Kind
		sig  syscall.Signal
	}{{front.Varnish, syscall.SIGKILL}, {front.Nginx, syscall.SIGINT}} {
		t.Run(tc.sig.String(), func(t *testing.T) { frontStopped(t, tc.kind, tc.sig) })
	}
}

func frontStopped(t *testing.T, k front.Kind, sig syscall.Signal) {
	needFront(t, k)
	bin := map[front.Kind]string{front.Varnish: "varnishd", front.Nginx: "nginx"}[k]
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "--servers", "gunicorn-gthread", "--workers", "1", "--threads", "2",
		"--front", string(k), "--duration", "20s", "--warmup", "0s", "--trials", "1", "--connections", "2",
		"--no-capacity", "--no-probe", "--no-trouble", "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		for _, l := range leftovers(cmd.Process.Pid) {
			if strings.Contains(l, bin) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for !running() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !running() {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("%s never started\n%s", bin, stderr.String())
	}
	cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("wsgibench did not stop within 30 s of %v\n%s", sig, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); sig == syscall.SIGINT && code != 130 {
		t.Errorf("exit code %d after Ctrl-C, want 130\n%s", code, stderr.String())
	}
	waitNoLeftovers(t, cmd.Process.Pid, 10*time.Second)
}

// TestFrontBadInput: an unknown front is one line and a non-zero exit,
// before anything starts.
func TestFrontBadInput(t *testing.T) {
	r := runBinary(t, 30*time.Second, "run", "--front", "varnish,squid", "--out", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, `unknown front "squid"`) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestProbeFront: probes through each front with one real server. The
// cases are chosen for what the fronts are known to do with them, so each
// passage is seen: a malformed Content-Length the front rejects itself
// (blocked; gunicorn alone fails it), a plain chunked body it passes on
// unchanged, and keep-alive, which gunicorn's sync worker refuses (it
// closes after every response: a warn directly) but the front keeps up
// with the client (normalised).
func TestProbeFront(t *testing.T) {
	for _, k := range []front.Kind{front.Varnish, front.Nginx} {
		t.Run(string(k), func(t *testing.T) {
			needFront(t, k)
			out := t.TempDir()
			r := runBinary(t, 2*time.Minute, "probe", "--servers", "gunicorn-sync", "--front", string(k),
				"--cases", "cl-sign,chunked-request,keep-alive", "--out", out)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			f, err := results.Read(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Conformance) != 2 || f.Conformance[0].Front != "" || f.Conformance[1].Front != string(k) {
				t.Fatalf("want the direct probes, then through %s: %+v", k, f.Conformance)
			}
			want := map[string]string{"cl-sign": "blocked", "chunked-request": "passed", "keep-alive": "normalised"}
			behind := f.Conformance[1]
			for _, pc := range behind.Cases {
				if pc.Passage != want[pc.ID] {
					t.Errorf("%s behind %s: %q (forwarded %v, %s: %s), want %q", pc.ID, k, pc.Passage, pc.Forwarded, pc.Outcome, pc.Detail, want[pc.ID])
				}
			}
			if behind.Blocked != 1 || behind.Normalised != 1 || behind.Passed != 1 {
				t.Errorf("tally blocked %d, normalised %d, passed %d", behind.Blocked, behind.Normalised, behind.Passed)
			}
			if !strings.Contains(r.stdout, "gunicorn-sync behind "+string(k)) || !strings.Contains(r.stdout, "1 / 1 / 1") {
				t.Errorf("stdout lacks the front's tally:\n%s", r.stdout)
			}
			md, err := os.ReadFile(filepath.Join(out, "summary.md"))
			if err != nil || !bytes.Contains(md, []byte("The probes through the front")) || !bytes.Contains(md, []byte("**keep-alive**: directly !")) {
				t.Errorf("summary.md lacks what the front did (%v):\n%s", err, md)
			}
		})
	}
}
