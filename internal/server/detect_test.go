package server

import (
	"context"
	"os"
	"testing"
)

// TestDetectSystemPython asks the real /usr/bin/python3 which servers it can
// run. It checks the probe's plumbing, not which packages a machine has:
// wsgiref is in every standard library, so it must be available.
func TestDetectSystemPython(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	d, statuses, err := Detect(context.Background(), "/usr/bin/python3")
	if err != nil {
		t.Fatal(err)
	}
	if d.Python.Version == "" || d.Python.Executable != "/usr/bin/python3" {
		t.Errorf("python = %+v", d.Python)
	}
	if len(statuses) != len(All()) {
		t.Fatalf("%d statuses for %d adapters", len(statuses), len(All()))
	}
	for _, s := range statuses {
		t.Logf("%-18s available=%-5v version=%-28q reason=%s", s.Adapter.ID, s.Available, s.Version, s.Reason)
		if s.Available == (s.Reason != "") {
			t.Errorf("%s: available=%v with reason %q", s.Adapter.ID, s.Available, s.Reason)
		}
		if s.Adapter.ID == "wsgiref" && (!s.Available || s.Version == "") {
			t.Errorf("wsgiref must be available with a version: %+v", s)
		}
	}
}

func TestResolvePythonErrors(t *testing.T) {
	if _, err := ResolvePython("/nonexistent/python"); err == nil {
		t.Error("want error for a missing interpreter")
	}
	if _, err := ResolvePython("no-such-python-xyz"); err == nil {
		t.Error("want error for a name not on PATH")
	}
}
