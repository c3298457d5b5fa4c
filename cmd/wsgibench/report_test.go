package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCorruptResultsFile: report and compare given an empty, truncated,
// non-JSON or wrong-schema results file exit non-zero with one line that
// names the file (and where a JSON error is), and overwrite nothing.
func TestCorruptResultsFile(t *testing.T) {
	good := filepath.Join("..", "..", "internal", "report", "testdata", "results.json")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content string
		want    string
	}{
		{"empty.json", "", "is empty"},
		{"truncated.json", string(b[:len(b)/2]), "(is the file truncated?)"},
		{"text.json", "Requests/sec: 12\n", "is not valid JSON at line 1, column 1, byte 1"},
		{"schema.json", `{"schema": "vegeta/v12", "runs": 3}`, `has schema "vegeta/v12"`},
		{"noschema.json", `{"runs": []}`, `has no "schema" field`},
		{"types.json", "{\"schema\": \"wsgibench/v1\",\n \"runs\": {}}", "runs (ending at line 2, column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(dir, tc.name)
			if err := os.WriteFile(bad, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			// An earlier report beside it must survive the failed one.
			out := t.TempDir()
			prior := filepath.Join(out, "summary.md")
			os.WriteFile(prior, []byte("earlier summary\n"), 0o644)
			for _, args := range [][]string{
				{"report", bad, "--out", out},
				{"compare", bad, good},
				{"compare", good, bad},
			} {
				r := runBinary(t, 30*time.Second, args...)
				if r.code != 1 {
					t.Errorf("%v: exit %d, want 1", args, r.code)
				}
				want := "wsgibench: " + bad + " "
				if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], tc.want) {
					t.Errorf("%v: stderr %q, want one line starting %q and saying %q", args, r.stderr, want, tc.want)
				}
				if r.stdout != "" {
					t.Errorf("%v: wrote to stdout: %q", args, r.stdout)
				}
			}
			if b, _ := os.ReadFile(prior); string(b) != "earlier summary\n" {
				t.Errorf("the failed report overwrote summary.md: %q", b)
			}
			if _, err := os.Stat(filepath.Join(out, "report.html")); err == nil {
				t.Error("the failed report wrote report.html")
			}
		})
	}
}

// hostileApp answers markup and Markdown in its body and headers, writes
// them to stderr, and exits mid-trial, so the server's last stderr lines
// (which wsgibench keeps as a warning) are the app's words.
const hostileApp = `import os, sys
EVIL = "<script>alert(1)</script> </pre></script><img src=x onerror=alert(2)> | a | b | ` + "`x` *y* _z_ [w](javascript:alert(3)) &lt;b&gt; &amp;" + `"
served = 0
def application(environ, start_response):
    global served
    served += 1
    if served > 40:
        sys.stderr.write("dying: " + EVIL + "\n# heading\n> quote\n")
        sys.stderr.flush()
        os._exit(3)
    body = ("<html><script>alert(4)</script>" + EVIL + "</html>").encode()
    start_response("200 OK", [("Content-Type", "text/html"), ("X-Evil", "<script>alert(5)</script>"), ("Content-Length", str(len(body)))])
    return [body]
`

// TestHostileAppReport: a real server (wsgiref, through /usr/bin/python3)
// around an app that answers and logs markup; what reaches summary.md and
// report.html from it is text, not markup.
func TestHostileAppReport(t *testing.T) {
	needServers(t)
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "evil.py"), []byte(hostileApp), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := runBinary(t, 90*time.Second, "run", "--app", "evil:application", "--chdir", app, "--servers", "wsgiref",
		"--workload", "GET /", "--duration", "1500ms", "--warmup", "0s", "--trials", "1", "--connections", "2",
		"--no-capacity", "--no-probe", "--no-trouble", "--out", out)
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatalf("no summary.md (exit %d): %v\nstderr:\n%s", r.code, err, r.stderr)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	// The app's words reached the report (else this test proves nothing)…
	if !strings.Contains(string(md), "dying: &lt;script>alert(1)&lt;/script>") {
		t.Fatalf("summary.md does not show the server's last stderr lines, escaped:\n%s", md)
	}
	if !strings.Contains(string(page), "dying: &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("report.html does not show the server's last stderr lines, escaped")
	}
	// … as text only.
	for _, bad := range []string{"<script>alert", "<img", "</pre>", "[w](javascript"} {
		if strings.Contains(string(md), bad) {
			t.Errorf("summary.md contains %q", bad)
		}
	}
	for _, bad := range []string{"<script>alert", "<img", "</pre></script>", `href="javascript`} {
		if strings.Contains(string(page), bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	for _, line := range strings.Split(string(md), "\n") {
		if strings.HasPrefix(line, "> ") || (strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "## ") && !strings.HasPrefix(line, "# wsgibench")) {
			t.Errorf("a line of the app's stderr became a block: %q", line)
		}
	}
	waitNoLeftovers(t, r.pid, 5*time.Second)
}
