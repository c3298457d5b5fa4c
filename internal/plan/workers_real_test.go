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
	"github.com/wsgibench/wsgibench/internal/server"
)

// busyApp spends about a millisecond of CPU per request, so the workers'
// CPU time follows the requests they serve.
const busyApp = `def application(environ, start_response):
    n = sum(i * i for i in range(20000))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(n).encode()]
`

// TestUnevenWorkersRealGunicorn: gunicorn's gthread worker accepts every
// connection it finds while awake and keeps it for the connection's life.
// Keep-alive clients that connect in a burst while the workers boot (a
// restart behind a proxy that reconnects its pool at once) queue in the
// listen backlog; the first worker to reach its accept loop drains them all
// in a few milliseconds, and the other two idle. The test checks that the
// worker load figure sees it: shares from the real process tree, judged
// uneven by the real rule. With gunicorn's remedy, --reuse-port, it is the
// same: the arbiter binds the one socket before forking, so the kernel has
// no second socket to spread connections over.
func TestUnevenWorkersRealGunicorn(t *testing.T) {
	needPython(t)
	if err := exec.Command("/usr/bin/python3", "-c", "import gunicorn.workers.gthread").Run(); err != nil {
		t.Skipf("gunicorn not available: %v", err)
	}
	a, ok := server.Lookup("gunicorn-gthread")
	if !ok {
		t.Fatal("no gunicorn-gthread adapter")
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
	launch, err := a.Command(tg, server.Shape{Workers: 3, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, remedy := range []bool{false, true} {
		name := "plain"
		l := launch
		if remedy {
			name = "reuse-port"
			l = withRemedy(launch, a.Facts.Workers.Remedy)
		}
		t.Run(name, func(t *testing.T) { burstOnBooting(t, a, tg, l) })
	}
}

func burstOnBooting(t *testing.T, a *server.Adapter, tg server.Target, launch server.Launch) {
	dir := tg.Dir
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// One CPU, as a trial pins the server.
	g, err := proc.Start(ctx, proc.Spec{Name: a.ID, Argv: launch.Argv, Dir: dir, CPUs: allowedCPUs()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	// The arbiter binds before it forks: connect as soon as it listens.
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.DialTimeout("tcp", tg.Addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gunicorn never listened: %v\n%v", err, g.Output(10))
		}
		time.Sleep(2 * time.Millisecond)
	}
	type result struct {
		res *load.Result
		err error
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	done := make(chan result, 1)
	go func() {
		res, err := load.Run(loadCtx, load.Config{Addr: tg.Addr(), Mix: []load.Template{{Method: "GET", Path: "/"}},
			Connections: 6, Duration: 30 * time.Second, Timeout: 20 * time.Second})
		done <- result{res, err}
	}()
	// Measure once every worker has booted (each imports the app itself),
	// until the tree has burnt 1.5 CPU-seconds, enough to judge three
	// workers: on a machine whose cores are busy that takes longer.
	waitWorkers(ctx, g, 3, 20*time.Second)
	time.Sleep(time.Second)
	u0, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	sampler := g.StartSampling(200 * time.Millisecond)
	for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if u, err := g.Usage(); err != nil || u.CPU-u0.CPU >= 1500*time.Millisecond {
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
	l := workerLoad(st.PerProcess, a.Facts.Workers)
	if l == nil {
		t.Fatalf("no worker load from %+v", st.PerProcess)
	}
	t.Logf("%d requests; worker shares %.2f, main %.2f, max÷fair %.2f, CV %.2f, %.2f CPU-s",
		r.res.Requests, l.Shares, l.MainShare, l.MaxOverFair, l.CV, l.CPUSeconds)
	if l.Workers != 3 || l.Note != "" {
		t.Fatalf("load = %+v, want 3 judged workers", l)
	}
	// All six connections on one worker: one share near 1. Uneven needs
	// 1.5× the fair third; asking 2× leaves room for boot-time noise.
	if !l.Uneven || l.MaxOverFair < 2 || l.Idle < 1 {
		t.Errorf("load = %+v, want one worker doing most of the work (max÷fair ≥ 2, an idle worker), judged uneven", l)
	}
}
