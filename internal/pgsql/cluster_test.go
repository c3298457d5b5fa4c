package pgsql

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
)

func TestMain(m *testing.M) {
	proc.Main()
	os.Exit(m.Run())
}

func needPostgres(t *testing.T) string {
	t.Helper()
	bin, err := FindBin()
	if err != nil {
		t.Skip(err)
	}
	return bin
}

// psqlSeed is a stand-in for the app's seeder: one table, one row.
func psqlSeed(ctx context.Context, dsn DSN) error {
	d := &DB{admin: dsn, psql: mustPsql()}
	_, err := d.exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)",
		"INSERT INTO items VALUES (1, 'seeded')")
	return err
}

func mustPsql() string {
	p, err := findPsql()
	if err != nil {
		panic(err)
	}
	return p
}

// query runs SQL against dsn the way the app's connections would reach it.
func query(t *testing.T, dsn DSN, sql ...string) string {
	t.Helper()
	d := &DB{admin: dsn, psql: mustPsql()}
	out, err := d.exec(context.Background(), sql...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(out)
}

// clusterPids lists live processes that belong to the cluster in dir: the
// postmaster (its command line names the data directory) and its children
// (their parent is the postmaster), found in /proc independently of the
// reaper's own bookkeeping.
func clusterPids(t *testing.T, dir string, postmaster int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		ppid := -1
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
			f := strings.Fields(string(stat)[i+1:])
			if len(f) > 2 && f[0] != "Z" {
				ppid, _ = strconv.Atoi(f[1])
			} else {
				continue // a zombie is not running
			}
		}
		if strings.Contains(string(cmdline), dir) || (postmaster > 0 && (pid == postmaster || ppid == postmaster)) {
			out = append(out, pid)
		}
	}
	return out
}

func postmasterPid(t *testing.T, c *Cluster) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestPrivateLifecycle: start, seed, a trial's writes are gone in the next
// trial's database, clones are dropped, and Close leaves no process and no
// directory behind.
func TestPrivateLifecycle(t *testing.T) {
	needPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	db, err := OpenPrivate(ctx, Options{}, psqlSeed)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := db.Cluster()
	t.Logf("cluster up and seeded in %v (%s)", time.Since(began).Round(time.Millisecond), db.Info().Version)
	pm := postmasterPid(t, c)
	if pids := clusterPids(t, c.Dir(), pm); len(pids) < 2 {
		t.Fatalf("expected a postmaster and its children, found %v", pids)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pm)))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid == 0 {
			t.Errorf("the postmaster runs as root")
		}
	}
	info := db.Info()
	if !info.Private || info.Version == "" || strings.Contains(info.DSN, db.admin.Password()) || !strings.Contains(info.DSN, "password=***") {
		t.Errorf("info = %+v", info)
	}
	if !strings.Contains(strings.Join(info.Settings, " "), "fsync=off") {
		t.Errorf("settings %v do not say fsync=off", info.Settings)
	}

	var prev DSN
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		dsn, err := db.Fresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reset %d took %v", i, time.Since(t0).Round(time.Millisecond))
		if got := query(t, dsn, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM items"); got != "1:seeded" {
			t.Fatalf("trial %d starts with %q, want the seed 1:seeded", i, got)
		}
		// The trial writes; the next one must not see it.
		query(t, dsn, "INSERT INTO items VALUES (2, 'trial')", "UPDATE items SET name = 'changed' WHERE id = 1")
		if prev.Get("dbname") != "" {
			if got := query(t, db.admin, "SELECT count(*) FROM pg_database WHERE datname = '"+prev.Get("dbname")+"'"); got != "0" {
				t.Errorf("the previous trial's database %s was not dropped", prev.Get("dbname"))
			}
		}
		prev = dsn
	}
	// A connection left open by a server that did not close it does not
	// block the reset.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if pids := clusterPids(t, c.Dir(), pm); len(pids) > 0 {
		t.Errorf("processes of the cluster left after Close: %v", pids)
	}
	if left := proc.Tagged(c.Group().Tag()); len(left) > 0 {
		t.Errorf("tagged processes left: %v", left)
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still exists (%v)", c.Dir(), err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestClusterFailsToStart: a postmaster that refuses its configuration
// is reported with its own last words, and nothing stays behind.
func TestClusterFailsToStart(t *testing.T) {
	needPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "wsgibench-pg-*"))
	_, err := StartCluster(ctx, Options{Tag: "wsgibench-pgtest-fail", Extra: []string{"no_such_setting=1"}})
	if err == nil {
		t.Fatal("the cluster started with a bogus setting")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "failed to start") || !strings.Contains(err.Error(), "no_such_setting") {
		t.Errorf("error %q does not quote the postmaster's complaint", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if left := proc.Tagged("wsgibench-pgtest-fail"); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "wsgibench-pg-*"))
	if len(after) > len(before) {
		t.Errorf("temporary directories left: %v (before: %v)", after, before)
	}
}

// TestUserDSN runs the DSN path against a private cluster standing in for
// the user's server: bad DSNs fail in one line naming host and port but not
// the password; a good one gets its own databases, dropped by Close.
func TestUserDSN(t *testing.T) {
	needPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := StartCluster(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	admin := c.Admin()
	pw := admin.Password()

	wrong := admin.With("password", "not-"+pw)
	_, err = OpenDSN(ctx, wrong.String(), psqlSeed)
	if err == nil {
		t.Fatal("a wrong password connected")
	}
	t.Log(err)
	for _, bad := range []string{pw, "not-" + pw} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error %q shows the password", err)
		}
	}
	if !strings.Contains(err.Error(), "127.0.0.1 port "+strconv.Itoa(c.Port())) || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("error %q does not say where and why", err)
	}

	free, err := proc.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	uri := "postgresql://wsgibench:" + pw + "@127.0.0.1:" + strconv.Itoa(free) + "/postgres"
	_, err = OpenDSN(ctx, uri, psqlSeed)
	if err == nil || strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "port "+strconv.Itoa(free)) ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("closed port: error %v", err)
	}

	db, err := OpenDSN(ctx, admin.String(), psqlSeed)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Info().Private || strings.Contains(db.Info().DSN, pw) {
		t.Errorf("info = %+v", db.Info())
	}
	for i := 0; i < 2; i++ {
		dsn, err := db.Fresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := query(t, dsn, "SELECT count(*) FROM items"); got != "1" {
			t.Fatalf("trial %d starts with %s rows, want 1", i, got)
		}
		query(t, dsn, "INSERT INTO items VALUES (2, 'trial')")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := query(t, admin, "SELECT count(*) FROM pg_database WHERE datname LIKE 'wsgibench%'"); got != "0" {
		t.Errorf("%s of wsgibench's databases left after Close", got)
	}
}

// TestSweepStale: a directory whose owner and postmaster are both gone
// is removed; one whose owner lives, or whose owner file is missing, stays.
func TestSweepStale(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPid := strconv.Itoa(dead.Process.Pid)
	mk := func(name, owner, postmaster string) string {
		d := filepath.Join(tmp, dirPrefix+name)
		os.MkdirAll(filepath.Join(d, "data"), 0o700)
		if owner != "" {
			os.WriteFile(filepath.Join(d, ownerFile), []byte(owner+"\n"), 0o644)
		}
		if postmaster != "" {
			os.WriteFile(filepath.Join(d, "data", "postmaster.pid"), []byte(postmaster+"\n/x\n"), 0o600)
		}
		return d
	}
	self := strconv.Itoa(os.Getpid())
	gone := mk("gone", deadPid, deadPid)
	goneNoPM := mk("gone-nopm", deadPid, "")
	live := mk("live", self, "")
	pmLive := mk("pm-live", deadPid, self)
	unknown := mk("unknown", "", "")
	sweepStale(tmp)
	for d, want := range map[string]bool{gone: false, goneNoPM: false, live: true, pmLive: true, unknown: true} {
		_, err := os.Stat(d)
		if exists := err == nil; exists != want {
			t.Errorf("%s: exists=%v, want %v", filepath.Base(d), exists, want)
		}
	}
}
