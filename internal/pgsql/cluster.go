// Package pgsql gives a benchmark run a PostgreSQL database that starts
// every trial from the same seeded data: a private, throwaway cluster
// (Debian's postgresql binaries, initdb in a temporary directory, loopback
// only) or a database server the user names with a DSN.
//
// A run goes:
//
//	db, err := pgsql.OpenPrivate(ctx, opts, seed) // or OpenDSN(ctx, dsn, seed)
//	defer db.Close()
//	for each server start:
//		dsn, err := db.Fresh(ctx) // a new database cloned from the seed
//
// Seeding happens once, into a template database; Fresh clones it with
// CREATE DATABASE ... TEMPLATE, which copies files instead of replaying
// inserts, so a trial's reset costs tens of milliseconds and its writes
// never leak into the next trial. The previous clone is dropped first.
//
// The private cluster's postmaster runs under package proc's reaper, so it
// cannot outlive wsgibench (Ctrl-C, an error, or SIGKILL of wsgibench). It
// trades durability for speed (fsync, synchronous_commit and
// full_page_writes off) the way a benchmark may; [Info] carries those
// settings so results say so.
//
// Administration (clone, drop, version) goes through psql, which Debian's
// postgresql-client ships beside the server; seeding is the caller's
// function, since the data belongs to the app.
package pgsql

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
)

// DebianRoot is where Debian and Ubuntu install one directory per major
// version, each with its own bin/.
const DebianRoot = "/usr/lib/postgresql"

// EnvBin overrides the directory the cluster's binaries are taken from.
const EnvBin = "WSGIBENCH_PG_BIN"

// ReadyTimeout bounds the wait for a new cluster to accept connections.
// Startup takes well under a second; thirty means it is stuck.
var ReadyTimeout = 30 * time.Second

// FindBin returns the bin directory of the newest PostgreSQL under
// DebianRoot that has initdb, postgres and psql, or of the one whose
// initdb is on PATH. $WSGIBENCH_PG_BIN wins over both.
func FindBin() (string, error) {
	if d := os.Getenv(EnvBin); d != "" {
		if err := hasTools(d); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBin, d, err)
		}
		return d, nil
	}
	matches, _ := filepath.Glob(filepath.Join(DebianRoot, "*", "bin"))
	type cand struct {
		dir string
		ver []int
	}
	var cands []cand
	for _, m := range matches {
		if hasTools(m) != nil {
			continue
		}
		cands = append(cands, cand{m, versionKey(filepath.Base(filepath.Dir(m)))})
	}
	if len(cands) > 0 {
		best := slices.MaxFunc(cands, func(a, b cand) int { return slices.Compare(a.ver, b.ver) })
		return best.dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if hasTools(d) == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server found (looked in %s/*/bin and PATH); install Debian's postgresql package (scripts/setup.sh) or pass --db-dsn", DebianRoot)
}

func hasTools(dir string) error {
	for _, t := range []string{"initdb", "postgres", "psql"} {
		fi, err := os.Stat(filepath.Join(dir, t))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("no executable %s in %s", t, dir)
		}
	}
	return nil
}

// versionKey turns "15" or "9.6" into comparable numbers.
func versionKey(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return []int{-1}
		}
		out = append(out, n)
	}
	return out
}

// Options configures a private cluster.
type Options struct {
	Bin  string // bin directory; "" = FindBin
	CPUs []int  // pin the cluster to these CPUs; nil = no pinning
	Tag  string // proc tag for the postmaster's tree; "" = generated
	// MaxConnections must cover every worker thread or greenlet of the
	// largest server shape (each holds its own connection) plus a few
	// for administration. Zero means 300.
	MaxConnections int
	// Extra settings (name=value) after the defaults, which they override.
	Extra []string
}

// settings are the cluster's non-default parameters. fsync and friends are
// off because the cluster is thrown away after the run: what a trial
// measures is the round trip and the server's concurrency model, not disk
// flushes (the results say so).
func settings(o Options, port int, sock string) []string {
	return append([]string{
		"listen_addresses=127.0.0.1",
		"port=" + strconv.Itoa(port),
		"unix_socket_directories=" + sock,
		"max_connections=" + strconv.Itoa(o.MaxConnections),
		"fsync=off",
		"synchronous_commit=off",
		"full_page_writes=off",
		"shared_buffers=128MB",
		"log_min_messages=warning",
		"log_checkpoints=off", // FILE_COPY clones checkpoint; the log tail is for errors
	}, o.Extra...)
}

// Cluster is a running private PostgreSQL cluster.
type Cluster struct {
	bin, dir, data string
	port           int
	admin          DSN // superuser wsgibench over TCP, database postgres
	settings       []string
	group          *proc.Group

	stopOnce sync.Once
	stopErr  error
}

// superuser is the cluster's bootstrap role.
const superuser = "wsgibench"

// StartCluster runs initdb in a new temporary directory and starts the
// postmaster on a free loopback port, as the postgres user when wsgibench
// runs as root (initdb refuses root). It returns once the cluster accepts
// connections. Cancelling ctx stops the cluster, as Stop does (but
// leaves the directory to Stop). On error nothing is left running or on
// disk.
func StartCluster(ctx context.Context, o Options) (c *Cluster, err error) {
	if o.MaxConnections <= 0 {
		o.MaxConnections = 300
	}
	bin := o.Bin
	if bin == "" {
		if bin, err = FindBin(); err != nil {
			return nil, err
		}
	}
	owner, err := clusterOwner()
	if err != nil {
		return nil, err
	}
	sweepStale(os.TempDir())
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("postgres cluster: %w", err)
	}
	// Whose it is, for sweepStale after a SIGKILL left it behind.
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres cluster: %w", err)
	}
	c = &Cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	sock := filepath.Join(dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return c, fmt.Errorf("postgres cluster: %w", err)
	}
	password, err := randomHex(16)
	if err != nil {
		return c, err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return c, fmt.Errorf("postgres cluster: %w", err)
	}
	if owner != nil {
		for _, p := range []string{dir, sock, pwfile} {
			if err := os.Chown(p, owner.uid, owner.gid); err != nil {
				return c, fmt.Errorf("postgres cluster: giving %s to %s: %w", p, owner.name, err)
			}
		}
	}
	if err := c.initdb(ctx, o, owner, pwfile); err != nil {
		return c, err
	}
	os.Remove(pwfile)

	port, err := proc.FreePort("127.0.0.1")
	if err != nil {
		return c, err
	}
	c.port = port
	c.settings = settings(o, port, sock)
	argv := []string{filepath.Join(bin, "postgres"), "-D", c.data}
	for _, s := range c.settings {
		argv = append(argv, "-c", s)
	}
	argv = asOwner(owner, argv...)
	g, err := proc.Start(ctx, proc.Spec{
		Name: "postgres", Argv: argv, Env: clusterEnv(), Dir: dir, CPUs: o.CPUs, Tag: o.Tag,
		// SIGINT is the fast shutdown: it disconnects clients instead of
		// waiting for them (SIGTERM, the smart one, would wait).
		StopSignal: syscall.SIGINT, Grace: 5 * time.Second,
		LogFile: filepath.Join(dir, "postgres.log"),
	})
	if err != nil {
		return c, fmt.Errorf("starting the postgres cluster: %w", err)
	}
	c.group = g
	if err := c.waitReady(ctx); err != nil {
		return c, err
	}
	c.admin = DSN{kv: map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(port),
		"user": superuser, "password": password, "dbname": "postgres", "sslmode": "disable"}}
	return c, nil
}

const (
	dirPrefix = "wsgibench-pg-"
	ownerFile = "wsgibench.pid"
)

// sweepStale removes cluster directories a killed wsgibench left behind:
// the reaper stopped their postmaster, but only the Go process removes the
// directory, so after a SIGKILL tens of megabytes stay in /tmp. A
// directory goes only when the pid in its owner file and the postmaster's
// pid are both gone.
func sweepStale(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		if !pidFileDead(filepath.Join(d, ownerFile)) {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "data", "postmaster.pid")); err == nil && !pidFileDead(filepath.Join(d, "data", "postmaster.pid")) {
			continue
		}
		os.RemoveAll(d)
	}
}

// pidFileDead is true when the file's first line is a pid that no longer
// exists. An unreadable or malformed file counts as alive: when in doubt,
// keep.
func pidFileDead(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

type account struct {
	name     string
	uid, gid int
}

// clusterOwner is the account the cluster runs as: nil for the current
// one, postgres when we are root.
func clusterOwner() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("postgres cluster: wsgibench runs as root, which initdb refuses, and there is no postgres user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if _, err := exec.LookPath("setpriv"); err != nil {
		return nil, fmt.Errorf("postgres cluster: running it as postgres needs setpriv (util-linux): %w", err)
	}
	return &account{name: u.Username, uid: uid, gid: gid}, nil
}

// clusterEnv is a small, predictable environment: no PG* variables of the
// user's leak into the server, and the C locale keeps initdb quiet.
func clusterEnv() []string {
	env := []string{"LC_ALL=C", "LANG=C"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	} else {
		env = append(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return env
}

// initdb runs under proc's reaper like the postmaster: it starts a
// bootstrap postgres of its own, and neither may outlive wsgibench.
func (c *Cluster) initdb(ctx context.Context, o Options, owner *account, pwfile string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	argv := asOwner(owner, filepath.Join(c.bin, "initdb"), "-D", c.data, "-U", superuser,
		"--pwfile="+pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync")
	tag := ""
	if o.Tag != "" {
		tag = o.Tag + "-initdb"
	}
	g, err := proc.Start(ctx, proc.Spec{Name: "initdb", Argv: argv, Env: clusterEnv(), Dir: c.dir, CPUs: o.CPUs, Tag: tag})
	if err != nil {
		return fmt.Errorf("postgres cluster: starting initdb: %w", err)
	}
	defer g.Stop()
	select {
	case <-g.Done():
	case <-ctx.Done():
		g.Stop()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("postgres cluster: initdb did not finish in a minute: %s", strings.Join(g.Output(3), " | "))
		}
		return fmt.Errorf("postgres cluster: initdb: %w", ctx.Err())
	}
	if err := g.ExitErr(); err != nil {
		return fmt.Errorf("postgres cluster: initdb failed (%v): %s", err, lastLines(strings.Join(g.Output(0), "\n"), 3))
	}
	return nil
}

// asOwner runs argv as owner (nil: as ourselves). setpriv execs, so no
// process stays behind as root and the reaper's child is the program
// itself.
func asOwner(owner *account, argv ...string) []string {
	if owner == nil {
		return argv
	}
	return append([]string{"setpriv", "--reuid=" + owner.name, "--regid=" + strconv.Itoa(owner.gid), "--init-groups", "--"}, argv...)
}

// waitReady polls postmaster.pid, whose eighth line the postmaster sets to
// "ready" once it accepts connections (PostgreSQL 10 and later).
func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(ReadyTimeout)
	pidfile := filepath.Join(c.data, "postmaster.pid")
	for {
		if b, err := os.ReadFile(pidfile); err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		select {
		case <-c.group.Done():
			return fmt.Errorf("the postgres cluster failed to start (%v): %s", c.group.ExitErr(), c.logTail(3))
		case <-ctx.Done():
			return fmt.Errorf("starting the postgres cluster: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the postgres cluster did not become ready in %v: %s", ReadyTimeout, c.logTail(3))
		}
	}
}

// logTail is the postmaster's last n non-empty output lines on one line.
func (c *Cluster) logTail(n int) string {
	if c.group == nil {
		return "no output"
	}
	var keep []string
	for _, l := range c.group.Output(0) {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return "no output"
	}
	return strings.Join(keep[max(0, len(keep)-n):], " | ")
}

func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return "no output"
	}
	return strings.Join(keep[max(0, len(keep)-n):], " | ")
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Admin is a superuser DSN for the database postgres.
func (c *Cluster) Admin() DSN { return c.admin }

// Port is the loopback TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// Dir is the cluster's temporary directory (data, socket, log).
func (c *Cluster) Dir() string { return c.dir }

// Settings are the parameters the postmaster was started with.
func (c *Cluster) Settings() []string { return slices.Clone(c.settings) }

// Group is the postmaster's supervised process tree (nil before it started).
func (c *Cluster) Group() *proc.Group { return c.group }

// Stop shuts the cluster down (fast shutdown, then SIGKILL after the
// grace period) and removes its directory. It is idempotent and returns
// when no process of the cluster is left.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.group != nil {
			if err := c.group.Stop(); err != nil {
				c.stopErr = fmt.Errorf("postgres cluster: %w", err)
			}
		}
		if err := os.RemoveAll(c.dir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("postgres cluster: removing %s: %w", c.dir, err)
		}
	})
	return c.stopErr
}

// run executes cmd and returns its stdout, or an error with the first
// line of its stderr (psql puts the error first and hints after it).
func run(cmd *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, firstLine(stderr.String()))
	}
	return stdout.String(), nil
}

// firstLine is the first line that reports an error, else the first
// non-empty line (notices such as "database ... does not exist, skipping"
// come before the error that matters).
func firstLine(s string) string {
	first := ""
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if strings.Contains(l, "ERROR:") || strings.Contains(l, "FATAL:") || strings.HasPrefix(l, "psql: error:") {
			return l
		}
		if first == "" {
			first = l
		}
	}
	if first == "" {
		return "no output"
	}
	return first
}
