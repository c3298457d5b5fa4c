package plan

import (
	"context"
	"io"
	"testing"
	"time"
)

// prepared is prepare for a test: the Debian interpreter, no log, and the
// runner closed when the test ends.
func prepared(t *testing.T, o Options) (*runner, []Cell) {
	t.Helper()
	o.Python, o.Out = "/usr/bin/python3", t.TempDir()
	if o.ReadyTimeout == 0 {
		// A server's start-up is CPU-bound (imports); with both cores
		// busy it takes several times as long as on a quiet machine, and
		// a test is about what the server does once up.
		o.ReadyTimeout = 30 * time.Second
	}
	r, cells, err := prepare(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r, cells
}
