package trouble

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the worker processes of a prefork server: with
// placeWorker set it accepts on the listening socket it inherited as fd 3
// and answers every connection with its pid, or, set to "idle", never
// accepts (a worker busy elsewhere).
const placeWorker = "WSGIBENCH_TEST_PLACE_WORKER"

func TestMain(m *testing.M) {
	switch os.Getenv(placeWorker) {
	case "":
		os.Exit(m.Run())
	case "idle":
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ready")
	pid := strconv.Itoa(os.Getpid()) + "\n"
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Write([]byte(pid))
		// Kept open, as a server keeps a connection it serves.
	}
}

// prefork is a server of worker processes sharing one listening socket, as
// gunicorn's are; modes says each worker's ("accept" or "idle").
type prefork struct {
	addr    string
	workers []int
}

func (p *prefork) Addr() string                  { return p.addr }
func (p *prefork) Workers() []int                { return p.workers }
func (p *prefork) Main() int                     { return 0 }
func (p *prefork) Restart(context.Context) error { return nil }

func startPrefork(t *testing.T, modes ...string) *prefork {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	p := &prefork{addr: ln.Addr().String()}
	for _, mode := range modes {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), placeWorker+"="+mode)
		cmd.ExtraFiles = []*os.File{f}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
			t.Fatalf("worker: %q", line)
		}
		p.workers = append(p.workers, cmd.Process.Pid)
	}
	// Only the workers accept: the parent's copies are closed.
	f.Close()
	ln.Close()
	return p
}

// servedBy reads the pid the worker that accepted c answered with.
func servedBy(t *testing.T, c net.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer from a worker: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

func TestPlacerRoundRobin(t *testing.T) {
	s := startPrefork(t, "accept", "accept", "accept")
	p := newPlacer(s)
	want := slices.Sorted(slices.Values(s.workers))
	for i := range 7 {
		c, err := p.dial(context.Background(), i, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := servedBy(t, c); got != want[i%3] {
			t.Errorf("connection %d went to %d, want %d (workers by pid %v)", i, got, want[i%3], want)
		}
	}
	if got := p.spread(); got != "connections placed round robin over the 3 workers: 3/2/2" {
		t.Errorf("spread %q", got)
	}
	for _, pid := range s.workers {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(b), ") T ") {
			t.Errorf("worker %d left stopped", pid)
		}
	}
}

// A worker that does not accept is full after one try: the connection
// meant for it waits in the backlog and the others take it once thawed, and
// later connections go to the workers that accept.
func TestPlacerSkipsAWorkerThatDoesNotAccept(t *testing.T) {
	s := startPrefork(t, "accept", "idle")
	acceptor := s.workers[0]
	p := newPlacer(s)
	for i := range 4 {
		c, err := p.dial(context.Background(), i, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := servedBy(t, c); got != acceptor {
			t.Errorf("connection %d went to %d, want %d", i, got, acceptor)
		}
	}
	// The spread lists the workers by pid.
	want := "connections placed round robin over the 2 workers: 3/0 (then full)"
	if s.workers[1] < acceptor {
		want = "connections placed round robin over the 2 workers: 0 (then full)/3"
	}
	if got := p.spread(); got != want {
		t.Errorf("spread %q, want %q", got, want)
	}
}

func TestPlacerOneProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := newPlacer(&fake{addr: ln.Addr().String()})
	c, err := p.dial(context.Background(), 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if p.spread() != "" {
		t.Errorf("spread %q for one process", p.spread())
	}
}

// Workers behind an accept lock (uWSGI's, Apache's) cannot be chosen: the
// placer says so, and a later one for the same server does not try again.
func TestPlacerGivesUpWhenNoWorkerAccepts(t *testing.T) {
	s := startPrefork(t, "idle", "idle")
	p := newPlacer(s)
	for i := range 3 {
		c, err := p.dial(context.Background(), i, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	const want = "connections left to the kernel (no worker accepted a connection while the others were paused"
	if got := p.spread(); !strings.HasPrefix(got, want) {
		t.Errorf("spread %q", got)
	}
	if again := newPlacer(s); !strings.HasPrefix(again.spread(), want) {
		t.Errorf("a second placer for the same server says %q", again.spread())
	}
}
