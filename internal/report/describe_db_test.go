package report

import (
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

func TestDescribeDB(t *testing.T) {
	for _, tt := range []struct {
		db   *results.Database
		want string
	}{
		{nil, "SQLite"},
		{&results.Database{Kind: "sqlite"}, "SQLite"},
		{&results.Database{Kind: "postgres", Version: "15.18 (Debian 15.18-0+deb12u1)", Private: true,
			Settings: []string{"port=1", "fsync=off"}, Driver: "psycopg 3.1.7"},
			"PostgreSQL 15.18 in a private cluster with fsync off, psycopg 3.1.7"},
		{&results.Database{Kind: "postgres", Version: "16.2", DSN: "host=db password=*** user=bench", Driver: "psycopg2 2.9.5",
			AddedRTT: results.Duration(time.Millisecond)},
			"PostgreSQL 16.2 at host=db password=*** user=bench (+1ms per round trip), psycopg2 2.9.5"},
	} {
		if got := describeDB(tt.db); got != tt.want {
			t.Errorf("describeDB(%+v) = %q, want %q", tt.db, got, tt.want)
		}
	}
}
