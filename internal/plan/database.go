package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wsgibench/wsgibench/internal/pgsql"
	"github.com/wsgibench/wsgibench/internal/pyapp"
	"github.com/wsgibench/wsgibench/internal/results"
)

// The bundled app's databases (Options.DB).
const (
	DBSQLite   = "sqlite"
	DBPostgres = "postgres"
)

// checkDB validates Options.DB and Options.DBDSN (after withDefaults).
func checkDB(o Options) error {
	switch o.DB {
	case DBSQLite:
		if o.DBDSN != "" {
			return fmt.Errorf("--db-dsn is for --db postgres, not --db %s", o.DB)
		}
	case DBPostgres:
		if o.DBDSN != "" {
			if _, err := pgsql.ParseDSN(o.DBDSN); err != nil {
				return fmt.Errorf("--db-dsn: %w", err)
			}
		}
	default:
		return fmt.Errorf("unknown --db %q (known: %s, %s)", o.DB, DBSQLite, DBPostgres)
	}
	if o.DBLatency != 0 && o.DB != DBPostgres {
		return fmt.Errorf("--db-latency is for --db postgres")
	}
	if o.DBLatency < 0 || o.DBLatency%time.Millisecond != 0 {
		return fmt.Errorf("--db-latency %v: give whole milliseconds (1ms, 5ms)", o.DBLatency)
	}
	if o.DB != DBSQLite && o.App != "" {
		return fmt.Errorf("--db %s sets up the bundled app's database; an --app brings its own (leave --db out)", o.DB)
	}
	return nil
}

// prepareDB seeds the bundled app's database once per run: an SQLite
// template file, or a PostgreSQL template database (in a private cluster,
// or on the user's server) that each server start clones.
func (r *runner) prepareDB(ctx context.Context) error {
	py := r.det.Python.Executable
	if r.o.DB != DBPostgres {
		r.templateDB = filepath.Join(r.work, "template.db")
		if err := pyapp.Seed(ctx, py, r.appDir, r.templateDB); err != nil {
			return fmt.Errorf("seeding the reference app's database: %w", err)
		}
		r.dbInfo = &results.Database{Kind: DBSQLite, Reset: "a fresh copy of the seeded file for every server start"}
		return nil
	}
	var driver string
	seed := func(ctx context.Context, dsn pgsql.DSN) error {
		var err error
		driver, err = pyapp.SeedPostgres(ctx, py, r.appDir, dsn.String())
		return err
	}
	var err error
	if r.o.DBDSN != "" {
		r.pg, err = pgsql.OpenDSN(ctx, r.o.DBDSN, seed)
	} else {
		r.pg, err = pgsql.OpenPrivate(ctx, pgsql.Options{CPUs: r.pinCPUs(), Tag: r.tag + "-pg", MaxConnections: r.dbConns}, seed)
	}
	if err != nil {
		return err
	}
	if r.o.DBLatency > 0 {
		if err := r.pg.AddLatency(r.o.DBLatency); err != nil {
			return err
		}
	}
	info := r.pg.Info()
	r.dbInfo = &results.Database{Kind: DBPostgres, Version: info.Version, Private: info.Private, DSN: info.DSN,
		Driver: driver, Settings: info.Settings, Reset: info.Reset,
		SetupSeconds: info.Setup.Round(time.Millisecond).Seconds(), AddedRTT: results.Duration(info.AddedRTT)}
	where := "your server at " + info.Where
	if info.Private {
		where = "a private cluster on " + info.Where
		r.dbInfo.CPUs = r.pinCPUs()
	}
	if info.AddedRTT > 0 {
		where += fmt.Sprintf(", +%v per round trip through a loopback proxy", info.AddedRTT)
	}
	fmt.Fprintf(r.log, "wsgibench: PostgreSQL %s, %s, ready in %s; the app uses %s\n", info.Version, where,
		info.Setup.Round(10*time.Millisecond), driver)
	return nil
}

// freshDB gives one server start its own database seeded alike: a copy of
// the SQLite template in dbPath, or a new clone of the PostgreSQL seed (the
// previous clone is dropped; its server is stopped by now). It returns the
// app's environment for it.
func (r *runner) freshDB(ctx context.Context, dbPath string) ([]string, error) {
	switch {
	case r.pg != nil:
		dsn, err := r.pg.Fresh(ctx)
		if err != nil {
			return nil, &dbError{err}
		}
		return []string{pyapp.EnvDSN + "=" + dsn.String()}, nil
	case r.templateDB != "":
		if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
			return nil, err
		}
		if err := pyapp.CopyDB(r.templateDB, dbPath); err != nil {
			return nil, err
		}
		return []string{pyapp.EnvDB + "=" + dbPath}, nil
	}
	return nil, nil
}

// dbError is a database that cannot give the next server start its data
// (the cluster died, the user's server went away): no later trial can run,
// so the run ends there, keeping what finished.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// closeDB drops what the run created on a user's server and stops a
// private cluster.
func (r *runner) closeDB() {
	if r.pg == nil {
		return
	}
	if err := r.pg.Close(); err != nil {
		fmt.Fprintf(r.log, "wsgibench: warning: %v\n", err)
	}
}

// dbConnections sizes a private cluster's max_connections: every thread of
// the largest shape holds a connection, greenlet servers one per request
// in flight (at most the load's connections), plus a margin for the
// capacity search's overlap and administration.
func dbConnections(cells []Cell, o Options) int {
	n := 100
	for _, c := range cells {
		n = max(n, c.Shape.Workers*max(c.Shape.Threads, 1)+o.Connections+20)
	}
	return n
}
