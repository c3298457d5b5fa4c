package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/pgsql"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

func needPostgres(t *testing.T) {
	t.Helper()
	needServers(t)
	if _, err := pgsql.FindBin(); err != nil {
		t.Skip(err)
	}
	if exec.Command("/usr/bin/python3", "-c", "import psycopg").Run() != nil &&
		exec.Command("/usr/bin/python3", "-c", "import psycopg2").Run() != nil {
		t.Skip("/usr/bin/python3 has neither psycopg nor psycopg2")
	}
}

// postgresProcs lists live processes named postgres whose parent chain or
// command line ties them to a cluster directory of wsgibench's: found in
// /proc by name, independently of the tag the reaper relies on.
func postgresProcs(dirs []string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && bytes.HasPrefix(bytes.TrimSpace(stat[i+1:]), []byte("Z")) {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, d := range dirs {
			if strings.HasPrefix(cwd, d) || bytes.Contains(cmd, []byte(d)) {
				out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
				break
			}
		}
	}
	return out
}

// clusterDirs are the private clusters' directories that exist now.
func clusterDirs() []string {
	d, _ := filepath.Glob(filepath.Join(os.TempDir(), "wsgibench-pg-*"))
	return d
}

func newDirs(before, after []string) []string {
	var out []string
	for _, d := range after {
		found := false
		for _, b := range before {
			found = found || b == d
		}
		if !found {
			out = append(out, d)
		}
	}
	return out
}

// TestRunPostgres: run --db postgres on a private cluster with two
// servers; every trial finishes, results.json says which database (without
// the password), and neither a postgres process nor its directory is left.
func TestRunPostgres(t *testing.T) {
	needPostgres(t)
	out := t.TempDir()
	before := clusterDirs()
	// A second of warm-up: each worker thread's first request imports the
	// driver and opens its connection (several round trips through the
	// proxy), which with both cores busy can take most of a second.
	r := runBinary(t, 3*time.Minute, "run", "--db", "postgres", "--servers", "gunicorn-gthread,waitress",
		"--workers", "2", "--threads", "4", "--workload", "crud", "--duration", "1500ms", "--warmup", "1s",
		"--trials", "2", "--connections", "8", "--no-capacity", "--no-probe", "--no-trouble", "--no-check", "--db-latency", "3ms", "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	f, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	db := f.Database
	if db == nil || db.Kind != "postgres" || !db.Private || db.Version == "" || db.Driver == "" || db.Reset == "" {
		t.Fatalf("database = %+v", db)
	}
	if !strings.Contains(db.DSN, "password=***") {
		t.Errorf("DSN %q is not redacted", db.DSN)
	}
	if !strings.Contains(strings.Join(db.Settings, " "), "fsync=off") {
		t.Errorf("settings %v do not state fsync=off", db.Settings)
	}
	if time.Duration(db.AddedRTT) != 3*time.Millisecond {
		t.Errorf("added_rtt %v, want 3ms", time.Duration(db.AddedRTT))
	}
	for _, run := range f.Runs {
		if run.Error != "" || len(run.Trials) != 2 {
			t.Errorf("%s %s: error %q, %d trials", run.Server, run.Workload, run.Error, len(run.Trials))
		}
		for _, tr := range run.Trials {
			if tr.Errors.Total > 0 || tr.Requests == 0 {
				t.Errorf("%s %s trial %d: %d requests, errors %+v", run.Server, run.Workload, tr.Index, tr.Requests, tr.Errors)
			}
			// Every crud request makes at least one query, each through
			// the 3 ms proxy: a lower bound only, which load cannot break.
			if tr.LatencyMS.P50 < 3 {
				t.Errorf("%s trial %d: p50 %.2f ms, below the 3 ms every query was delayed", run.Server, tr.Index, tr.LatencyMS.P50)
			}
		}
	}
	if !strings.Contains(r.stderr, "PostgreSQL ") {
		t.Errorf("the log does not say which database:\n%s", r.stderr)
	}
	waitNoLeftovers(t, r.pid, 5*time.Second)
	if left := postgresProcs([]string{os.TempDir() + "/wsgibench-pg-"}); len(left) > 0 {
		t.Errorf("postgres processes left: %v", left)
	}
	if d := newDirs(before, clusterDirs()); len(d) > 0 {
		t.Errorf("cluster directories left: %v", d)
	}
}

// TestInterruptPostgres: SIGINT while the cluster starts, and mid-trial;
// SIGKILL mid-trial. No postgres process may survive any of them, and
// finished trials are kept.
func TestInterruptPostgres(t *testing.T) {
	needPostgres(t)
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		// when: "setup" = as soon as the cluster's directory appears,
		// "trial" = once the first trial has finished.
		when string
	}{
		{"sigint-setup", syscall.SIGINT, "setup"},
		{"sigint-trial", syscall.SIGINT, "trial"},
		{"sigkill-trial", syscall.SIGKILL, "trial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			before := clusterDirs()
			cmd := exec.Command(binary, "run", "--db", "postgres", "--servers", "gunicorn-sync", "--workers", "2",
				"--duration", "1s", "--warmup", "200ms", "--trials", "4", "--connections", "4",
				"--no-capacity", "--no-probe", "--no-trouble", "--out", out)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			deadline := time.Now().Add(90 * time.Second)
			var dirs []string
			for time.Now().Before(deadline) {
				dirs = newDirs(before, clusterDirs())
				if tc.when == "setup" && len(dirs) > 0 || tc.when == "trial" && finishedTrials(stderr.String()) > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if time.Now().After(deadline) {
				t.Fatalf("never reached %s\n%s", tc.when, stderr.String())
			}
			if tc.when == "trial" && len(postgresProcs(dirs)) == 0 {
				t.Fatalf("no postgres process found for %v while a trial ran", dirs)
			}
			cmd.Process.Signal(tc.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("wsgibench did not stop within 30 s of %v\n%s", tc.sig, stderr.String())
			}
			if tc.sig == syscall.SIGINT {
				if code := cmd.ProcessState.ExitCode(); code != 130 {
					t.Errorf("exit code %d, want 130\n%s", code, stderr.String())
				}
			}
			// The reaper stops the postmaster (fast shutdown, then SIGKILL).
			waitNoLeftovers(t, cmd.Process.Pid, 10*time.Second)
			if left := postgresProcs(dirs); len(left) > 0 {
				t.Errorf("postgres processes left: %v", left)
			}
			if tc.sig == syscall.SIGKILL {
				// Only the directory stays (the next cluster's start sweeps
				// it; see pgsql.sweepStale); don't leave it to chance here.
				for _, d := range dirs {
					os.RemoveAll(d)
				}
			}
			if tc.sig == syscall.SIGINT {
				if d := newDirs(before, clusterDirs()); len(d) > 0 {
					t.Errorf("cluster directories left after Ctrl-C: %v", d)
				}
				finished := finishedTrials(stderr.String())
				if finished > 0 {
					f, err := results.Read(filepath.Join(out, "results.json"))
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					for _, r := range f.Runs {
						n += len(r.Trials)
					}
					if n != finished {
						t.Errorf("log reported %d finished trials, results.json holds %d", finished, n)
					}
				}
			}
		})
	}
}

// TestBadInputPostgres: each mistake ends in one clear line, exit ≠ 0,
// nothing running, and never the password.
func TestBadInputPostgres(t *testing.T) {
	needPostgres(t)
	free, err := proc.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-pa55word"
	realBin, _ := pgsql.FindBin()
	// A bin directory whose postgres refuses to start, beside the real
	// initdb and psql: the cluster fails after initdb, as a broken
	// configuration would.
	fake, err := os.MkdirTemp("", "wsgibench-fakepg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(fake)
	os.Chmod(fake, 0o755)
	for _, tool := range []string{"initdb", "psql"} {
		if err := os.Symlink(filepath.Join(realBin, tool), filepath.Join(fake, tool)); err != nil {
			t.Fatal(err)
		}
	}
	// initdb may run the postgres beside it to bootstrap: only the
	// postmaster (the one told to listen) fails.
	script := "#!/bin/sh\ncase \"$*\" in *listen_addresses=*) echo 'FATAL:  could not create lock file: the fake says no' >&2; exit 1;; esac\nexec " +
		filepath.Join(realBin, "postgres") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(fake, "postgres"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		want  []string
		never string
	}{
		{"unknown db", []string{"--db", "mysql"}, nil, []string{`unknown --db "mysql"`}, ""},
		{"dsn with sqlite", []string{"--db", "sqlite", "--db-dsn", "host=x"}, nil, []string{"--db-dsn is for --db postgres"}, ""},
		{"dsn does not connect", []string{"--db-dsn", "postgresql://bob:" + secret + "@127.0.0.1:" + strconv.Itoa(free) + "/app"}, nil,
			[]string{"127.0.0.1 port " + strconv.Itoa(free), "refused"}, secret},
		{"dsn does not parse", []string{"--db", "postgres", "--db-dsn", "host=x password='" + secret}, nil, []string{"--db-dsn"}, secret},
		{"cluster fails to start", []string{"--db", "postgres"}, []string{pgsql.EnvBin + "=" + fake},
			[]string{"failed to start", "the fake says no"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := clusterDirs()
			args := append([]string{"run", "--servers", "waitress", "--no-capacity", "--no-probe", "--no-trouble",
				"--duration", "500ms", "--trials", "1", "--no-check", "--out", t.TempDir()}, tc.args...)
			cmd := exec.Command(binary, args...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			if err == nil {
				t.Fatalf("exit 0; stderr:\n%s", stderr.String())
			}
			if el := time.Since(start); el > 60*time.Second {
				t.Errorf("took %v", el)
			}
			last := lastLine(stderr.String())
			if !strings.HasPrefix(last, "wsgibench: ") {
				t.Errorf("last line %q is not wsgibench's error", last)
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("last line %q does not say %q", last, w)
				}
			}
			if tc.never != "" && strings.Contains(stderr.String()+stdout.String(), tc.never) {
				t.Errorf("the output shows the password:\n%s", stderr.String())
			}
			waitNoLeftovers(t, cmd.Process.Pid, 5*time.Second)
			if d := newDirs(before, clusterDirs()); len(d) > 0 {
				t.Errorf("cluster directories left: %v", d)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer the test may read while exec writes to it.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPostgresDies: the private cluster is killed after the first trial;
// the run ends with one line that says so (and quotes the cluster's last
// words), exit ≠ 0, the finished trial kept, nothing left running.
func TestPostgresDies(t *testing.T) {
	needPostgres(t)
	out := t.TempDir()
	before := clusterDirs()
	cmd := exec.Command(binary, "run", "--db", "postgres", "--servers", "gunicorn-sync", "--workers", "2",
		"--duration", "1s", "--warmup", "200ms", "--trials", "4", "--connections", "4",
		"--no-capacity", "--no-probe", "--no-trouble", "--out", out)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(90 * time.Second)
	for finishedTrials(stderr.String()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no trial finished\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	dirs := newDirs(before, clusterDirs())
	if len(dirs) != 1 {
		t.Fatalf("cluster directories %v", dirs)
	}
	b, err := os.ReadFile(filepath.Join(dirs[0], "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pm, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("wsgibench did not end within 60 s of the postmaster's death\n%s", stderr.String())
	}
	if cmd.ProcessState.ExitCode() == 0 {
		t.Errorf("exit 0 after the database died\n%s", stderr.String())
	}
	last := lastLine(stderr.String())
	t.Log(last)
	if !strings.HasPrefix(last, "wsgibench: ") || !strings.Contains(last, "finished trials are in") ||
		!(strings.Contains(last, "postgres cluster exited") || strings.Contains(last, "resetting the database")) {
		t.Errorf("last line %q does not say the database went away", last)
	}
	f, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range f.Runs {
		n += len(r.Trials)
	}
	if n < 1 {
		t.Errorf("the finished trial was not kept")
	}
	waitNoLeftovers(t, cmd.Process.Pid, 10*time.Second)
	if left := postgresProcs(dirs); len(left) > 0 {
		t.Errorf("postgres processes left: %v", left)
	}
	if d := newDirs(before, clusterDirs()); len(d) > 0 {
		t.Errorf("cluster directories left: %v", d)
	}
}
