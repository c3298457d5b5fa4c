package pgsql

import (
	"context"
	"testing"
)

// BenchmarkFresh is the per-server-start cost of a reset: drop the previous
// clone, CREATE DATABASE ... TEMPLATE the seed. Run with -benchtime=20x.
func BenchmarkFresh(b *testing.B) {
	if _, err := FindBin(); err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	db, err := OpenPrivate(ctx, Options{}, func(ctx context.Context, dsn DSN) error {
		d := &DB{admin: dsn, psql: mustPsql()}
		// About the size of the reference app's data: 20,000 short rows.
		_, err := d.exec(ctx, "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 20000) g")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Fresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartCluster is the once-per-run cost of a private cluster:
// initdb, start, ready, and stop. Run with -benchtime=3x.
func BenchmarkStartCluster(b *testing.B) {
	if _, err := FindBin(); err != nil {
		b.Skip(err)
	}
	for i := 0; i < b.N; i++ {
		c, err := StartCluster(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		c.Stop()
	}
}
