package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/server"
)

func TestCheckDB(t *testing.T) {
	for _, tt := range []struct {
		o    Options
		want string // "" = valid
		db   string // Options.DB after withDefaults
	}{
		{Options{}, "", DBSQLite},
		{Options{DB: "postgres"}, "", DBPostgres},
		{Options{DBDSN: "host=db user=me"}, "", DBPostgres},
		{Options{DB: "postgres", DBDSN: "postgresql://me:pw@db/x"}, "", DBPostgres},
		{Options{DB: "mysql"}, `unknown --db "mysql"`, "mysql"},
		{Options{DB: "sqlite", DBDSN: "host=db"}, "--db-dsn is for --db postgres", DBSQLite},
		{Options{DBDSN: "host=db password='open"}, "--db-dsn: ", DBPostgres},
		{Options{DB: "postgres", App: "mine:app"}, "an --app brings its own", DBPostgres},
		{Options{App: "mine:app"}, "", DBSQLite},
		{Options{DB: "postgres", DBLatency: time.Millisecond}, "", DBPostgres},
		{Options{DBLatency: time.Millisecond}, "--db-latency is for --db postgres", DBSQLite},
		{Options{DB: "postgres", DBLatency: 1500 * time.Microsecond}, "whole milliseconds", DBPostgres},
	} {
		o := tt.o.withDefaults()
		if o.DB != tt.db {
			t.Errorf("%+v: DB %q after defaults, want %q", tt.o, o.DB, tt.db)
		}
		err := checkDB(o)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.o, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: error %v, want %q", tt.o, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "open") && strings.Contains(tt.o.DBDSN, "password") {
			t.Errorf("error %q echoes the DSN's password", err)
		}
	}
}

func TestDBConnections(t *testing.T) {
	cells := []Cell{{Shape: server.Shape{Workers: 5, Threads: 1}}, {Shape: server.Shape{Workers: 2, Threads: 64}}}
	if got := dbConnections(cells, Options{Connections: 32}); got != 2*64+32+20 {
		t.Errorf("dbConnections = %d, want %d", got, 2*64+32+20)
	}
	if got := dbConnections(nil, Options{Connections: 8}); got != 100 {
		t.Errorf("dbConnections with no cells = %d, want the floor of 100", got)
	}
}
