package pyapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// systemPython is Debian's interpreter, which sees the distribution's
// server packages (gunicorn, gevent, eventlet).
const systemPython = "/usr/bin/python3"

func python(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(systemPython); err != nil {
		t.Skipf("no %s: %v", systemPython, err)
	}
	return systemPython
}

// setup writes the app, seeds a template and returns the app dir and a
// fresh copy of the database, the way a benchmark run uses the package.
func setup(t *testing.T) (py, dir, db string) {
	t.Helper()
	py = python(t)
	dir = t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	template := filepath.Join(t.TempDir(), "template.db")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := Seed(ctx, py, dir, template); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeding took %v", time.Since(start).Round(time.Millisecond))
	db = filepath.Join(t.TempDir(), "run.db")
	if err := CopyDB(template, db); err != nil {
		t.Fatal(err)
	}
	return py, dir, db
}

// runScript runs a Python script from testdata against the app in dir.
func runScript(t *testing.T, py, dir, db string, script string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	abs, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(ctx, py, append([]string{abs}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), EnvDB+"="+db, "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in time:\n%s", script, out)
	}
	return string(out), err
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	for i := 0; i < 2; i++ { // the second Write replaces the first
		if err := Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	names := Files()
	want := []string{"wsgibench_app.py", "wsgibench_check.py", "wsgibench_probe.py", "wsgibench_seed.py"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Files() = %v, want %v", names, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("dir holds %d entries, want %d (leftover temp files?)", len(entries), len(want))
	}
	for _, name := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", name, fi.Mode().Perm())
		}
		got, _ := os.ReadFile(filepath.Join(dir, name))
		embedded, _ := files.ReadFile("app/" + name)
		if !bytes.Equal(got, embedded) {
			t.Errorf("%s differs from the embedded copy", name)
		}
	}
}

func TestSeedAndCopyDB(t *testing.T) {
	py, dir, db := setup(t)
	for _, suffix := range []string{"-wal", "-shm", ".tmp"} {
		if _, err := os.Stat(db + suffix); err == nil {
			t.Errorf("%s exists after CopyDB", db+suffix)
		}
	}
	head := make([]byte, 20)
	f, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Bytes 18 and 19 are the write/read format versions: 2 means WAL.
	if !bytes.HasPrefix(head, []byte("SQLite format 3\x00")) || head[18] != 2 || head[19] != 2 {
		t.Errorf("seeded file is not an SQLite database in WAL mode: header % x", head)
	}

	// A stale WAL beside the destination must not survive a copy.
	dst := filepath.Join(t.TempDir(), "again.db")
	if err := os.WriteFile(dst+"-wal", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyDB(db, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dst + "-wal"); err == nil {
		t.Error("CopyDB left a stale -wal beside the copy")
	}

	// A template with a pending WAL is not a whole database.
	if err := os.WriteFile(db+"-wal", []byte("pending"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyDB(db, dst); err == nil || !strings.Contains(err.Error(), "uncheckpointed WAL") {
		t.Errorf("CopyDB with a pending WAL: err = %v", err)
	}

	err = Seed(context.Background(), py, dir, filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	if err == nil || !strings.Contains(err.Error(), "unable to open database file") {
		t.Errorf("Seed into a missing directory: err = %v, want the seeder's last stderr line", err)
	}
	if err := Seed(context.Background(), py, t.TempDir(), db); err == nil || !strings.Contains(err.Error(), "pyapp.Write") {
		t.Errorf("Seed without Write: err = %v", err)
	}
}

// TestAppEndpoints drives every endpoint in-process through
// wsgiref.validate (testdata/test_app.py).
func TestAppEndpoints(t *testing.T) {
	t.Parallel()
	py, dir, db := setup(t)
	out, err := runScript(t, py, dir, db, "test_app.py")
	if err != nil {
		t.Fatalf("test_app.py: %v\n%s", err, out)
	}
	t.Log(lastLine(out))
}

// TestProbeAppEndpoints drives the conformance probe app in-process
// through wsgiref.validate (testdata/test_probe_app.py).
func TestProbeAppEndpoints(t *testing.T) {
	t.Parallel()
	py, dir, db := setup(t)
	out, err := runScript(t, py, dir, db, "test_probe_app.py")
	if err != nil {
		t.Fatalf("test_probe_app.py: %v\n%s", err, out)
	}
	t.Log(lastLine(out))
}

// TestAppConcurrentWriters writes from 8 threads, then from 2 forked
// processes and the parent at once (testdata/test_concurrency.py).
func TestAppConcurrentWriters(t *testing.T) {
	t.Parallel()
	py, dir, db := setup(t)
	out, err := runScript(t, py, dir, db, "test_concurrency.py")
	if err != nil {
		t.Fatalf("test_concurrency.py: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
}

// TestAppGreenlets checks one connection per greenlet and a yielding /sleep
// under gevent and eventlet, also with the app imported before patching.
func TestAppGreenlets(t *testing.T) {
	t.Parallel()
	py, dir, db := setup(t)
	for _, lib := range []string{"gevent", "eventlet"} {
		for _, late := range []bool{false, true} {
			args := []string{lib}
			if late {
				args = append(args, "late")
			}
			t.Run(strings.Join(args, "-"), func(t *testing.T) {
				out, err := runScript(t, py, dir, db, "test_greenlets.py", args...)
				var exit *exec.ExitError
				if errors.As(err, &exit) && exit.ExitCode() == 3 {
					t.Skip(strings.TrimSpace(out))
				}
				if err != nil {
					t.Fatalf("test_greenlets.py %v: %v\n%s", args, err, out)
				}
				t.Log(strings.TrimSpace(out))
			})
		}
	}
}

// listenWriter collects a server's log and reports the address from
// gunicorn's "Listening at: http://..." line.
type listenWriter struct {
	mu   sync.Mutex // guards buf and sent
	buf  bytes.Buffer
	sent bool
	addr chan string
}

var listeningRE = regexp.MustCompile(`Listening at: (http://\S+)`)

func (w *listenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if m := listeningRE.FindSubmatch(w.buf.Bytes()); m != nil {
			w.sent = true
			w.addr <- string(m[1])
		}
	}
	return len(p), nil
}

func (w *listenWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startGunicorn serves the app with two forked sync workers on a free port
// and stops the whole process group when the test ends.
func startGunicorn(t *testing.T, py, dir, db string) string {
	t.Helper()
	if err := exec.Command(py, "-c", "import gunicorn").Run(); err != nil {
		t.Skipf("gunicorn not importable by %s", py)
	}
	log := &listenWriter{addr: make(chan string, 1)}
	cmd := exec.Command(py, "-m", "gunicorn", "-w", "2", "--bind", "127.0.0.1:0",
		"--chdir", dir, "--graceful-timeout", "2", Spec)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), EnvDB+"="+db, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("gunicorn ignored SIGTERM for 5s; killing\n%s", log)
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		// The workers are the master's children; the master reaps them, but
		// make sure none outlived it.
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(-pgid, 0) == nil {
			if time.Now().After(deadline) {
				t.Errorf("processes of group %d outlived the gunicorn master; killing", pgid)
				syscall.Kill(-pgid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	var base string
	select {
	case base = <-log.addr:
	case <-exited:
		t.Fatalf("gunicorn exited before listening:\n%s", log)
	case <-time.After(15 * time.Second):
		t.Fatalf("gunicorn did not listen within 15s:\n%s", log)
	}
	// Listening is the master's socket; wait until a worker answers.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(base + "/plaintext")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker answered within 15s (last error %v):\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base
}

// client bounds every request, so a hung server fails the test instead of
// stalling it.
var client = &http.Client{Timeout: 10 * time.Second}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestGunicornSmoke serves the app with a real pre-fork server: the
// workers are forked after the master imported the app, and both write to
// the database at once.
func TestGunicornSmoke(t *testing.T) {
	t.Parallel()
	py, dir, db := setup(t)
	base := startGunicorn(t, py, dir, db)

	resp, body := get(t, base+"/plaintext")
	if resp.StatusCode != 200 || string(body) != "Hello, World!" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("/plaintext: %s %q %q", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get(t, base+"/db")
	var world struct {
		ID           int `json:"id"`
		RandomNumber int `json:"randomNumber"`
	}
	if err := json.Unmarshal(body, &world); err != nil || resp.StatusCode != 200 || world.ID < 1 || world.ID > 10000 {
		t.Errorf("/db: %s %q (%v)", resp.Status, body, err)
	}

	type item struct {
		ID         int    `json:"id"`
		Name       string `json:"name"`
		PriceCents int    `json:"price_cents"`
		Qty        int    `json:"qty"`
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	created := make(chan item, writers*each)
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				want := item{Name: fmt.Sprintf("smoke %d/%d", w, i), PriceCents: w*100 + i, Qty: i}
				payload, _ := json.Marshal(want)
				resp, err := client.Post(base+"/items", "application/json", bytes.NewReader(payload))
				if err != nil {
					errs <- err
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var got item
				if resp.StatusCode != 201 || json.Unmarshal(body, &got) != nil {
					errs <- fmt.Errorf("POST /items: %s %q", resp.Status, body)
					continue
				}
				want.ID = got.ID
				if got != want || resp.Header.Get("Location") != fmt.Sprintf("/items/%d", got.ID) {
					errs <- fmt.Errorf("POST /items: got %+v, want %+v", got, want)
				}
				created <- got
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for it := range created {
		n++
		resp, body := get(t, fmt.Sprintf("%s/items/%d", base, it.ID))
		var got item
		if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got != it {
			t.Errorf("GET /items/%d: %s %q, want %+v", it.ID, resp.Status, body, it)
		}
	}
	if n != writers*each {
		t.Errorf("created %d items, want %d", n, writers*each)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	py := python(t)
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "hang.py"), []byte("import time\ntime.sleep(60)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(elsewhere, "broken.py"), []byte("app = 1 +\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		chdir, spec string
		want        string // "" means success
	}{
		{dir, Spec, ""},
		{dir, Module + ":app", ""},
		{dir, Module, ""}, // the callable defaults to "application"
		{dir, "nosuch:app", "cannot import module 'nosuch': No module named 'nosuch'"},
		{dir, Module + ":nope", "module 'wsgibench_app' has no attribute 'nope'"},
		{dir, Module + ":__name__", "'wsgibench_app:__name__' is not callable"},
		{dir, Module + ":SQLiteStore.nope", "'wsgibench_app:SQLiteStore' has no attribute 'nope'"},
		// The checker's own directory is not on sys.path: from elsewhere,
		// the app is only importable through PYTHONPATH, as for a server.
		{elsewhere, Spec, "cannot import module 'wsgibench_app'"},
		{elsewhere, "broken:app", "cannot import module 'broken': SyntaxError"},
	}
	for _, tt := range tests {
		start := time.Now()
		err := Check(context.Background(), py, dir, tt.chdir, tt.spec)
		elapsed := time.Since(start)
		if elapsed > 10*time.Second {
			t.Errorf("Check(%q) took %v", tt.spec, elapsed)
		}
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", tt.spec, err)
			}
			continue
		}
		var ce *CheckError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Check(%q) = %#v, want a one-line *CheckError containing %q", tt.spec, err, tt.want)
		}
	}

	if err := Check(context.Background(), "/nonexistent/python3", dir, dir, Spec); err == nil || errors.As(err, new(*CheckError)) {
		t.Errorf("Check with a missing interpreter = %v, want an exec error", err)
	}

	saved := checkTimeout
	checkTimeout = time.Second
	defer func() { checkTimeout = saved }()
	start := time.Now()
	err := Check(context.Background(), py, dir, elsewhere, "hang:app")
	if err == nil || !strings.Contains(err.Error(), "took longer than 1s") {
		t.Errorf("Check on a hanging import = %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Check on a hanging import returned after %v", elapsed)
	}
}
