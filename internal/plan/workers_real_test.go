package plan

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

// busyApp spends about a millisecond of CPU per request, so the workers'
// CPU time follows the requests they serve.
const busyApp = `def application(environ, start_response):
    n = sum(i * i for i in range(20000))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(n).encode()]
`

// realLaunch is a server adapter's launch of busyApp on a free port.
func realLaunch(t *testing.T, id string, shape server.Shape, module string) (*server.Adapter, server.Target, server.Launch) {
	t.Helper()
	needPython(t)
	if err := exec.Command("/usr/bin/python3", "-c", "import "+module).Run(); err != nil {
		t.Skipf("%s not available: %v", module, err)
	}
	a, ok := server.Lookup(id)
	if !ok {
		t.Fatalf("no %s adapter", id)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "busyapp.py"), []byte(busyApp), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := proc.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tg := server.Target{Python: server.Python{Executable: "/usr/bin/python3"}, App: "busyapp:application", AppDir: dir,
		Host: "127.0.0.1", Port: port, Dir: dir}
	launch, err := a.Command(tg, shape)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range launch.Files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return a, tg, launch
}

// TestUnevenWorkersRealGunicorn: gunicorn's gthread worker accepts every
// connection it finds while awake, and keeps it for the connection's life.
// Keep-alive clients that connect in a burst while the workers boot (a
// restart behind a proxy that reconnects its pool at once) queue in the
// listen backlog; the first worker to reach its accept loop drains them all
// in a few milliseconds, and the other two idle. The test checks that the
// worker load figure sees it: shares from the real process tree, judged
// uneven by the real rule. With gunicorn's remedy, --reuse-port, it is the
// same: the arbiter binds the one socket before forking, so the kernel has
// no second socket to spread connections over.
func TestUnevenWorkersRealGunicorn(t *testing.T) {
	a, tg, launch := realLaunch(t, "gunicorn-gthread", server.Shape{Workers: 3, Threads: 2}, "gunicorn.workers.gthread")
	for _, remedy := range []bool{false, true} {
		name := "plain"
		l := launch
		if remedy {
			name = "reuse-port"
			l = withRemedy(launch, a.Facts.Workers.Remedy)
		}
		t.Run(name, func(t *testing.T) {
			unevenWithin(t, 3, func() *results.WorkerLoad { return measureShares(t, a, tg, l, 6, true) })
		})
	}
}

// TestUnevenWorkersRealTornado: tornado's forked processes share one
// socket and each accepts up to 128 connections per wake-up, so on one CPU
// a burst of keep-alive clients lands on whichever process runs first. Its
// remedy binds a SO_REUSEPORT socket per process after the fork, and the
// kernel spreads the connections: with 24 clients over 3 processes each
// gets some, and on one CPU each busy process gets its turn.
func TestUnevenWorkersRealTornado(t *testing.T) {
	a, tg, launch := realLaunch(t, "tornado", server.Shape{Workers: 3, Threads: 1}, "tornado.wsgi")
	t.Run("plain", func(t *testing.T) {
		unevenWithin(t, 3, func() *results.WorkerLoad { return measureShares(t, a, tg, launch, 24, false) })
	})
	t.Run("reuse-port", func(t *testing.T) {
		wl := measureShares(t, a, tg, withRemedy(launch, a.Facts.Workers.Remedy), 24, false)
		// Even would be 1; a process with 4 of 24 connections still
		// runs whenever the CPU is its turn.
		if wl.Uneven || wl.MaxOverFair > 1.4 || wl.Idle > 0 {
			t.Errorf("load = %+v, want every process busy (max÷fair ≤ 1.4)", wl)
		}
	})
}

// unevenWithin measures on fresh servers until a trial is judged uneven
// with an idle worker, at most n times. Where the first worker to wake
// takes the burst is a race: now and then two wake together (seen once in
// a dozen runs of each case, as 51/49/0%, which is uneven too: a worker
// idled); an even spread n times in a row would mean the server or the
// detector changed.
func unevenWithin(t *testing.T, n int, measure func() *results.WorkerLoad) {
	t.Helper()
	for i := range n {
		wl := measure()
		if wl.Uneven && wl.Idle >= 1 {
			return
		}
		t.Logf("attempt %d: %+v, not uneven with an idle worker", i+1, wl)
	}
	t.Errorf("no trial of %d judged uneven with an idle worker", n)
}

// measureShares runs the server on one CPU (as a trial pins it), holds
// conns keep-alive clients on it, and returns its worker load once the
// tree has burnt 1 CPU-second after every worker booted: enough to judge
// three workers (an idle one is 33 ticks from the mean, beyond 4√33), and
// on a machine whose cores are busy it just takes longer. early connects the clients as soon as the port listens, while
// the workers boot; otherwise they connect once the server answers and its
// processes have had a second to bind.
func measureShares(t *testing.T, a *server.Adapter, tg server.Target, launch server.Launch, conns int, early bool) *results.WorkerLoad {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g, err := proc.Start(ctx, proc.Spec{Name: a.ID, Argv: launch.Argv, Dir: tg.Dir, CPUs: allowedCPUs()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	workers := launch.Shape.Workers
	if early {
		for deadline := time.Now().Add(20 * time.Second); ; {
			c, err := net.DialTimeout("tcp", tg.Addr(), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never listened: %v\n%v", a.ID, err, g.Output(10))
			}
			time.Sleep(2 * time.Millisecond)
		}
	} else {
		if err := proc.WaitHTTP(ctx, g, tg.Addr(), "/", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		waitWorkers(ctx, g, workers, 20*time.Second)
		time.Sleep(time.Second)
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	type result struct {
		res *load.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := load.Run(loadCtx, load.Config{Addr: tg.Addr(), Mix: []load.Template{{Method: "GET", Path: "/"}},
			Connections: conns, Duration: 40 * time.Second, Timeout: 20 * time.Second})
		done <- result{res, err}
	}()
	waitWorkers(ctx, g, workers, 20*time.Second)
	time.Sleep(time.Second) // every worker booted (each may import the app itself)
	u0, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	sampler := g.StartSampling(200 * time.Millisecond)
	for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if u, err := g.Usage(); err != nil || u.CPU-u0.CPU >= time.Second {
			break
		}
	}
	st := sampler.Stop()
	stopLoad()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.Requests == 0 {
		t.Fatalf("no request served: %+v\n%v", r.res.Errors, g.Output(10))
	}
	wl := workerLoad(st.PerProcess, a.Facts.Workers)
	if wl == nil {
		t.Fatalf("no worker load from %+v", st.PerProcess)
	}
	t.Logf("%d requests; worker shares %.2f, main %.2f, max÷fair %.2f, CV %.2f, %.2f CPU-s",
		r.res.Requests, wl.Shares, wl.MainShare, wl.MaxOverFair, wl.CV, wl.CPUSeconds)
	if wl.Workers != workers || wl.Note != "" {
		t.Fatalf("load = %+v, want %d judged workers", wl, workers)
	}
	return wl
}
