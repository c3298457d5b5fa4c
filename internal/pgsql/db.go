package pgsql

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Seeder fills the empty database dsn points at with the app's schema and
// data. It runs once per DB.
type Seeder func(ctx context.Context, dsn DSN) error

// DB is where a run's trials get their databases: a private cluster or the
// user's server, with a seeded template database and one clone per trial.
// It is not safe for concurrent use; trials run one at a time.
type DB struct {
	cluster *Cluster // nil for a user DSN
	admin   DSN      // where administration connects (database: the maintenance one)
	psql    string
	prefix  string // names of our databases start with it
	seed    string // the template database
	n       int    // clones made
	live    []string
	force   bool // the server has DROP DATABASE ... WITH (FORCE) (13+)
	// strategy is how CREATE DATABASE copies the template: on 15+ the
	// default (WAL_LOG) writes every block, catalogs included, to the WAL;
	// FILE_COPY (the only way before 15) copies files and measured 5-20%
	// faster for this small a database (BenchmarkFresh).
	strategy string
	// schemas: the role may not CREATE DATABASE, so the seed and its
	// clones are schemas in the DSN's database instead.
	schemas bool
	delay   *Delay // --db-latency: the app's connections go through it

	info Info
}

// Info describes the database of a run for its results. Nothing in it
// carries a password.
type Info struct {
	Private  bool     // a private cluster wsgibench started
	Version  string   // the server's version ("15.5 (Debian 15.5-0+deb12u1)")
	DSN      string   // the DSN trials connect with, password redacted, without the per-trial database name
	Where    string   // host and port, for messages
	Settings []string // non-default server settings of a private cluster
	Reset    string   // how each trial starts from the seeded data
	Setup    time.Duration
	AddedRTT time.Duration // added to each of the app's round trips by a Delay; 0 = none
}

// Info says what the run's database is.
func (d *DB) Info() Info { return d.info }

// OpenPrivate starts a private cluster and seeds it. On error nothing is
// left running.
func OpenPrivate(ctx context.Context, o Options, seed Seeder) (*DB, error) {
	began := time.Now()
	c, err := StartCluster(ctx, o)
	if err != nil {
		return nil, err
	}
	d := &DB{cluster: c, admin: c.Admin(), psql: filepath.Join(c.bin, "psql"), prefix: "wsgibench"}
	d.info.Private = true
	d.info.Settings = c.Settings()
	if err := d.setup(ctx, seed); err != nil {
		c.Stop()
		return nil, err
	}
	d.info.Setup = time.Since(began)
	return d, nil
}

// OpenDSN checks that dsn connects and may create databases, then seeds a
// database of wsgibench's own on that server (named wsgibench_<random>_seed,
// dropped again by Close, as is every clone). The user's own databases are
// never written.
func OpenDSN(ctx context.Context, dsn string, seed Seeder) (*DB, error) {
	began := time.Now()
	parsed, err := ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("--db-dsn: %w", err)
	}
	psql, err := findPsql()
	if err != nil {
		return nil, err
	}
	suffix, err := randomHex(4)
	if err != nil {
		return nil, err
	}
	d := &DB{admin: parsed, psql: psql, prefix: "wsgibench_" + suffix}
	if err := d.setup(ctx, seed); err != nil {
		d.Close()
		return nil, err
	}
	d.info.Setup = time.Since(began)
	return d, nil
}

func findPsql() (string, error) {
	if bin, err := FindBin(); err == nil {
		return filepath.Join(bin, "psql"), nil
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("--db-dsn needs psql (Debian: postgresql-client) to create and reset the trial databases")
}

func (d *DB) setup(ctx context.Context, seed Seeder) error {
	out, err := d.exec(ctx, "SELECT current_setting('server_version') || '|' || current_setting('server_version_num')")
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL at %s: %w", d.admin.Where(), err)
	}
	ver, num, _ := strings.Cut(strings.TrimSpace(out), "|")
	d.info.Version = ver
	if n, err := strconv.Atoi(num); err == nil {
		d.force = n >= 130000
		if n >= 150000 {
			d.strategy = " STRATEGY FILE_COPY"
		}
	}
	d.info.Where = d.admin.Where()
	d.seed = d.prefix + "_seed"
	if _, err := d.exec(ctx, d.dropSQL(d.seed), "CREATE DATABASE "+d.seed); err != nil {
		if d.cluster != nil || !strings.Contains(err.Error(), "permission denied to create database") {
			return fmt.Errorf("creating the seed database at %s: %w", d.admin.Where(), err)
		}
		d.schemas = true
		if _, err := d.exec(ctx, "DROP SCHEMA IF EXISTS "+d.seed+" CASCADE", "CREATE SCHEMA "+d.seed); err != nil {
			return fmt.Errorf("the role may neither create a database nor a schema at %s: %w", d.admin.Where(), err)
		}
	}
	d.live = append(d.live, d.seed)
	if err := seed(ctx, d.target(d.seed)); err != nil {
		return fmt.Errorf("seeding PostgreSQL at %s: %s", d.admin.Where(), d.admin.Redact(err.Error()))
	}
	// Connections to the template block CREATE DATABASE ... TEMPLATE; the
	// seeder has closed its own, and nobody else knows the name.
	if d.schemas {
		d.info.DSN = d.admin.Redacted()
		d.info.Reset = "the role may not CREATE DATABASE: each server start gets a new schema with copies of " +
			"schema " + d.seed + "'s tables (CREATE TABLE ... LIKE, INSERT ... SELECT, sequences carried over); dropped after"
	} else {
		d.info.DSN = d.admin.With("dbname", "").Redacted()
		d.info.Reset = "CREATE DATABASE ... TEMPLATE " + d.seed + " before each server start; dropped after"
	}
	return nil
}

// target is the DSN that reaches the database (or schema) name.
func (d *DB) target(name string) DSN {
	if !d.schemas {
		return d.admin.With("dbname", name)
	}
	opts := strings.TrimSpace(d.admin.Get("options") + " -c search_path=" + name)
	return d.admin.With("options", opts)
}

// cloneSchemaSQL copies every table of schema seed into a new schema:
// structure with indexes, defaults and identity (LIKE ... INCLUDING ALL),
// rows, and the state of each identity sequence, in one transaction. Both
// names are ours ([a-z0-9_]), never the user's.
func cloneSchemaSQL(seed, name string) string {
	return strings.NewReplacer("SEED", seed, "NEW", name).Replace(`DO $wsgibench$
DECLARE
  t record;
  c record;
  lv bigint;
  called boolean;
BEGIN
  CREATE SCHEMA NEW;
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'SEED' ORDER BY tablename LOOP
    EXECUTE format('CREATE TABLE NEW.%I (LIKE SEED.%I INCLUDING ALL)', t.tablename, t.tablename);
    EXECUTE format('INSERT INTO NEW.%I OVERRIDING SYSTEM VALUE SELECT * FROM SEED.%I', t.tablename, t.tablename);
    FOR c IN SELECT a.attname FROM pg_attribute a
        WHERE a.attrelid = format('SEED.%I', t.tablename)::regclass AND a.attidentity <> '' LOOP
      EXECUTE format('SELECT last_value, is_called FROM %s',
        pg_get_serial_sequence(format('SEED.%I', t.tablename), c.attname)) INTO lv, called;
      PERFORM setval(pg_get_serial_sequence(format('NEW.%I', t.tablename), c.attname), lv, called);
    END LOOP;
  END LOOP;
END
$wsgibench$`)
}

// Fresh drops the previous clone and returns the DSN of a new database
// cloned from the seed, for the next server start. The previous server must
// be stopped (its connections are cut anyway on PostgreSQL 13 and later).
func (d *DB) Fresh(ctx context.Context) (DSN, error) {
	dsn, err := d.fresh(ctx)
	if err != nil {
		if dead := d.clusterDied(); dead != nil {
			return DSN{}, dead
		}
		return DSN{}, fmt.Errorf("resetting the database for a trial: %w", err)
	}
	return dsn, nil
}

func (d *DB) fresh(ctx context.Context) (DSN, error) {
	if err := d.dropClones(ctx); err != nil {
		return DSN{}, err
	}
	d.n++
	name := d.prefix + "_t" + strconv.Itoa(d.n)
	stmt := "CREATE DATABASE " + name + " TEMPLATE " + d.seed + d.strategy
	if d.schemas {
		stmt = cloneSchemaSQL(d.seed, name)
	}
	if _, err := d.exec(ctx, stmt); err != nil {
		return DSN{}, err
	}
	d.live = append(d.live, name)
	if d.delay != nil {
		return d.delay.Via(d.target(name)), nil
	}
	return d.target(name), nil
}

// clusterDied explains a failure by the private cluster's death, if that
// is what it was: a postmaster killed a moment ago is still being reaped
// when the next statement fails, so it waits a little for the verdict.
func (d *DB) clusterDied() error {
	if d.cluster == nil || d.cluster.group == nil {
		return nil
	}
	g := d.cluster.group
	select {
	case <-g.Done():
	case <-time.After(2 * time.Second):
		return nil
	}
	return fmt.Errorf("the private postgres cluster exited (%v): %s", g.ExitErr(), d.cluster.logTail(2))
}

func (d *DB) dropClones(ctx context.Context) error {
	var keep []string
	var firstErr error
	for _, name := range d.live {
		if name == d.seed {
			keep = append(keep, name)
			continue
		}
		if _, err := d.exec(ctx, d.dropSQL(name)); err != nil {
			keep = append(keep, name)
			if firstErr == nil {
				firstErr = fmt.Errorf("dropping %s: %w", name, err)
			}
		}
	}
	d.live = keep
	return firstErr
}

func (d *DB) dropSQL(name string) string {
	if d.schemas {
		return "DROP SCHEMA IF EXISTS " + name + " CASCADE"
	}
	if d.force {
		return "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"
	}
	return "DROP DATABASE IF EXISTS " + name
}

// AddLatency makes every DSN Fresh returns from now on go through a Delay
// proxy that adds rtt to each round trip. Administration and seeding stay
// direct.
func (d *DB) AddLatency(rtt time.Duration) error {
	up, err := tcpUpstream(d.admin)
	if err != nil {
		return err
	}
	delay, err := StartDelay(up, rtt)
	if err != nil {
		return err
	}
	if d.delay != nil {
		d.delay.Close()
	}
	d.delay = delay
	d.info.AddedRTT = rtt
	return nil
}

// Close drops every database this DB created and stops a private cluster.
// It is idempotent and runs even when ctx of the run is cancelled (Ctrl-C),
// within a few seconds.
func (d *DB) Close() error {
	var err error
	if d.delay != nil {
		d.delay.Close()
		d.delay = nil
	}
	if d.cluster == nil && len(d.live) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = d.dropClones(ctx)
		if len(d.live) == 1 {
			if _, e := d.exec(ctx, d.dropSQL(d.seed)); e != nil && err == nil {
				err = fmt.Errorf("dropping %s: %w", d.seed, e)
			}
		}
		cancel()
		d.live = nil
	}
	if d.cluster != nil {
		if e := d.cluster.Stop(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Cluster is the private cluster, or nil for a user DSN.
func (d *DB) Cluster() *Cluster { return d.cluster }

// psqlPrefix is what psql puts before the server's or libpq's words.
var psqlPrefix = regexp.MustCompile(`^(psql:(<command line>:\d+:)?( error:)?\s*)?(ERROR:\s*)?`)

// exec runs each statement as its own psql -c (CREATE and DROP DATABASE
// refuse to run inside the implicit transaction of a multi-statement
// string). The password goes to psql in its environment, never on its
// command line, and errors come back redacted.
func (d *DB) exec(ctx context.Context, stmts ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", d.admin.With("password", "").String()}
	for _, s := range stmts {
		args = append(args, "-c", s)
	}
	cmd := exec.CommandContext(ctx, d.psql, args...)
	env := append(os.Environ(), "PGAPPNAME=wsgibench")
	if p := d.admin.Password(); p != "" {
		env = append(env, "PGPASSWORD="+p)
	}
	if d.admin.Get("connect_timeout") == "" && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		env = append(env, "PGCONNECT_TIMEOUT=5")
	}
	cmd.Env = env
	cmd.WaitDelay = 2 * time.Second
	out, err := run(cmd)
	if err != nil {
		msg := err.Error()
		if _, tail, ok := strings.Cut(msg, ": "); ok {
			msg = psqlPrefix.ReplaceAllString(tail, "")
		}
		if ctx.Err() != nil {
			msg = "psql did not answer in time: " + msg
		}
		return out, fmt.Errorf("%s", d.admin.Redact(msg))
	}
	return out, nil
}
