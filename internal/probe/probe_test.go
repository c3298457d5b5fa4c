package probe

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// echoHandler stands in for the probe app (wsgibench_probe.py, which
// pyapp's tests check) so the probes' judging can be tested against Go
// servers, without Python.
func echoHandler() http.Handler {
	var mu sync.Mutex
	closed := map[string]bool{} // guarded by mu
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Hello, World!") })
	echo := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil { // as a WSGI app's read raises
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := sha256.Sum256(body)
		headers := map[string]string{}
		for k, v := range r.Header {
			headers["HTTP_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = strings.Join(v, ",")
		}
		cl := ""
		if r.ContentLength >= 0 && r.Header.Get("Content-Length") != "" {
			cl = strconv.FormatInt(r.ContentLength, 10)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path_info": latin1(r.URL.Path), "query_string": r.URL.RawQuery, "content_length": cl,
			"headers": headers, "body_len": len(body), "body_sha256": hex.EncodeToString(h[:]),
			"problems": []string{}, "oddities": []string{},
		})
	}
	mux.HandleFunc("/probe/echo", echo)
	mux.HandleFunc("/probe/echo/", echo)
	mux.HandleFunc("/probe/unread", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not read") })
	mux.HandleFunc("/probe/readmore", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, r.ContentLength+4096))
		fmt.Fprintf(w, `{"asked": %d, "got": %d}`, r.ContentLength+4096, len(b))
	})
	mux.HandleFunc("/probe/lines", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, `{"lines": %d, "ok": true}`, strings.Count(string(b), "\n"))
	})
	mux.HandleFunc("/probe/write", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "written ok\n") })
	mux.HandleFunc("/probe/nolength", func(w http.ResponseWriter, r *http.Request) {
		for i := range 10 {
			fmt.Fprintf(w, "part-%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/probe/close", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "close me")
		mu.Lock()
		closed[r.URL.Query().Get("token")] = true
		mu.Unlock()
	})
	mux.HandleFunc("/probe/closed", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if closed[r.URL.Query().Get("token")] {
			io.WriteString(w, "yes")
		} else {
			io.WriteString(w, "no")
		}
	})
	mux.HandleFunc("/probe/error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/probe/error-after", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first part\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // net/http cuts the response off
	})
	mux.HandleFunc("/probe/smuggled", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "SMUGGLED") })
	return mux
}

// latin1 is PEP 3333's view of a path: each byte one code point.
func latin1(s string) string {
	rs := make([]rune, len(s))
	for i := range len(s) {
		rs[i] = rune(s[i])
	}
	return string(rs)
}

type fixedServer struct{ addr string }

func (f fixedServer) Addr() string                      { return f.addr }
func (f fixedServer) Restart(ctx context.Context) error { return fmt.Errorf("cannot restart") }

func outcomes(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%-22s %s\n", r.Case.ID, r.Outcome)
	}
	return b.String()
}

// TestNetHTTPGolden runs every case against Go's net/http server, strict
// and well kept, and pins the outcomes: a change in how a check judges
// shows as a diff (go test -update rewrites it after review).
func TestNetHTTPGolden(t *testing.T) {
	srv := httptest.NewServer(echoHandler())
	defer srv.Close()
	srv.Config.ErrorLog = nil
	rs := Run(context.Background(), fixedServer{srv.Listener.Addr().String()}, nil, Options{Timeout: time.Second})
	if len(rs) != len(Cases()) {
		t.Fatalf("%d results for %d cases", len(rs), len(Cases()))
	}
	for _, r := range rs {
		t.Logf("%-22s %-5s %s", r.Case.ID, r.Outcome, r.Detail)
	}
	golden(t, "nethttp.golden", outcomes(rs))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("outcomes differ from %s (go test -update after review):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// naive is a deliberately careless HTTP/1.1 server with the flaws the
// probes exist to find: it frames bodies with strconv's lenient base-0
// parsing (signs, underscores, 0x, octal), prefers chunked but keeps the
// connection, takes any two bytes after chunk data for CRLF, leaves
// trailers unread, never drains an unread body, sends bodies after HEAD,
// strips header names as Python's str.strip() does and passes header and
// method bytes through as they came.
type naive struct {
	ln    net.Listener
	wg    sync.WaitGroup
	flaws naiveFlaws
}

// naiveFlaws are the flaws that would hide others if always on; each one
// is a real server's, named beside it.
type naiveFlaws struct {
	// teExact: chunked only when the Transfer-Encoding lines, joined,
	// read exactly "chunked" (tornado before 6.4.1).
	teExact bool
	// crSplits: a bare CR ends a header line (CPython's http.server).
	crSplits bool
	// failFast: parses every pipelined request it has buffered before
	// answering any, and answers a bad one with 400 for the lot.
	failFast bool
}

func startNaive(t *testing.T, flaws naiveFlaws) *naive {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &naive{ln: ln, flaws: flaws}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.wg.Add(1)
			go func() { defer n.wg.Done(); n.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); n.wg.Wait() })
	return n
}

func (n *naive) Addr() string                  { return n.ln.Addr().String() }
func (n *naive) Restart(context.Context) error { return nil }

func (n *naive) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		parts := strings.Fields(line)
		if len(parts) != 3 {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		method, path, proto := parts[0], parts[1], parts[2]
		hdr := map[string]string{}
		tes := []string{}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			if l == "" {
				break
			}
			fields := []string{l}
			if n.flaws.crSplits {
				fields = strings.Split(l, "\r")
			}
			for _, f := range fields {
				k, v, _ := strings.Cut(f, ":")
				k = strings.ToLower(pyStrip(k))
				hdr[k] = strings.TrimLeft(v, " ")
				if k == "transfer-encoding" {
					tes = append(tes, hdr[k])
				}
			}
		}
		chunked := strings.Contains(hdr["transfer-encoding"], "chunked")
		if n.flaws.teExact {
			chunked = strings.Join(tes, ",") == "chunked"
		}
		var body []byte
		if chunked {
			for {
				sz, _ := br.ReadString('\n')
				size := naiveHex(strings.SplitN(sz, ";", 2)[0])
				if size <= 0 {
					// The end, if a blank line follows; trailers are
					// left where they are.
					if p, _ := br.Peek(2); string(p) == "\r\n" {
						br.Discard(2)
					}
					break
				}
				b := make([]byte, size+2)
				io.ReadFull(br, b)
				body = append(body, b[:size]...)
			}
		} else if cl, err := strconv.ParseInt(strings.TrimSpace(hdr["content-length"]), 0, 64); err == nil && cl > 0 && !strings.HasPrefix(path, "/probe/unread") {
			body = make([]byte, cl)
			io.ReadFull(br, body)
		}
		if n.flaws.failFast && br.Buffered() > 0 {
			ahead, _ := br.Peek(br.Buffered())
			if strings.ContainsAny(string(ahead), "\x00") {
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				return
			}
		}
		var out string
		switch {
		case path == "/probe/smuggled":
			out = "SMUGGLED"
		case strings.HasPrefix(path, "/probe/echo"):
			h := sha256.Sum256(body)
			headers := map[string]string{}
			for k, v := range hdr {
				headers["HTTP_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = v
			}
			j, _ := json.Marshal(map[string]any{"method": method, "protocol": proto, "path_info": path,
				"body_len": len(body), "body_sha256": hex.EncodeToString(h[:]), "headers": headers})
			out = string(j)
		default:
			out = "Hello, World!"
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(out), out) // HEAD too
	}
}

// naiveHex reads a chunk size as a careless C parser would: whitespace,
// a sign, 0x and underscores skipped, the value wrapping at 64 bits.
func naiveHex(s string) int64 {
	s = strings.TrimLeft(strings.TrimSpace(s), "+")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	var v uint64
	for _, c := range strings.ReplaceAll(s, "_", "") {
		d, err := strconv.ParseUint(string(c), 16, 8)
		if err != nil {
			break
		}
		v = v<<4 | d
	}
	return int64(v & (1<<62 - 1)) // wrapped, and never negative
}

// pyStrip trims what Python's str.strip() trims from a latin-1 string:
// ASCII whitespace and the separators \x1c-\x1f, \x85 and \xa0.
func pyStrip(s string) string {
	isSpace := func(b byte) bool {
		return b == ' ' || (b >= '\t' && b <= '\r') || (b >= 0x1c && b <= 0x1f) || b == 0x85 || b == 0xa0
	}
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// TestNaiveServerIsCaught: each flaw of the naive server fails the case
// built to find it.
func TestNaiveServerIsCaught(t *testing.T) {
	n := startNaive(t, naiveFlaws{})
	want := map[string]Outcome{
		"cl-and-te":             Fail, // chunked wins, connection kept: the rest is served
		"te-space-before-colon": Fail,
		"cl-duplicate":          Fail,
		"cl-sign":               Fail,
		"chunk-size-0x":         Fail,
		"unread-body":           Fail,
		"head":                  Fail,
		"nul-in-header":         Fail,
		"cr-in-header":          Fail,
		"keep-alive":            Pass,
		"chunked-request":       Pass,
	}
	var cases []Case
	for _, c := range Cases() {
		if _, ok := want[c.ID]; ok {
			cases = append(cases, c)
		}
	}
	for _, r := range Run(context.Background(), n, cases, Options{Timeout: time.Second}) {
		if r.Outcome != want[r.Case.ID] {
			t.Errorf("%s: %s (%s), want %s", r.Case.ID, r.Outcome, r.Detail, want[r.Case.ID])
		}
	}
}

// TestDeadServer: a server that stops answering after a case fails that
// case; one that cannot be restarted leaves the rest not run.
func TestDeadServer(t *testing.T) {
	srv := httptest.NewServer(echoHandler())
	addr := srv.Listener.Addr().String()
	cases := Cases()[:3]
	first := cases[0]
	first.check = func(ctx context.Context, t *target) (Outcome, string) {
		srv.Close() // the probe "kills" the server
		return Pass, "looked fine"
	}
	cases[0] = first
	rs := Run(context.Background(), fixedServer{addr}, cases, Options{Timeout: 500 * time.Millisecond})
	if len(rs) != 3 {
		t.Fatalf("%d results", len(rs))
	}
	if rs[0].Outcome != Fail || !strings.Contains(rs[0].Detail, "stopped answering") {
		t.Errorf("first: %s %q", rs[0].Outcome, rs[0].Detail)
	}
	for _, r := range rs[1:] {
		if r.Outcome != Error || !strings.Contains(r.Detail, "did not start again") {
			t.Errorf("%s: %s %q", r.Case.ID, r.Outcome, r.Detail)
		}
	}
	if got := Count(rs); got != (Tally{Fail: 1, Error: 2}) {
		t.Errorf("Count = %+v", got)
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		t    Tally
		want float64
		ok   bool
	}{
		{Tally{}, 0, false},
		{Tally{Error: 3}, 0, false},
		{Tally{Pass: 4}, 1, true},
		{Tally{Pass: 2, Warn: 2}, 0.75, true},
		{Tally{Pass: 1, Fail: 1, Error: 5}, 0.5, true},
	}
	for _, tt := range tests {
		got, ok := Score(tt.t)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Score(%+v) = %v, %v; want %v, %v", tt.t, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCaseIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.ID] || c.ID == "" || c.Title == "" || c.Ref == "" || c.check == nil {
			t.Errorf("case %+v: duplicate or incomplete", c.ID)
		}
		seen[c.ID] = true
	}
}

// parsingCases are the cases of parsing.go's classes, with what the naive
// server (flaws as given) must get: each is built to be caught by one.
var parsingCases = []struct {
	id    string
	flaws naiveFlaws
	want  Outcome
}{
	{"te-chunked-twice", naiveFlaws{}, Fail},          // "contains chunked": the hidden request is served
	{"te-gzip-chunked", naiveFlaws{}, Fail},           // likewise
	{"te-two-lines", naiveFlaws{}, Warn},              // last line wins: chunked once
	{"te-two-lines", naiveFlaws{teExact: true}, Fail}, // "chunked,chunked" is not chunked: the chunk is a request
	{"te-nbsp", naiveFlaws{}, Fail},                   // "\xa0chunked" contains chunked
	{"cl-space-before-colon", naiveFlaws{}, Fail},     // the name is stripped
	{"cl-plus-underscore", naiveFlaws{}, Fail},        // ParseInt base 0 reads +1_0 as 10
	{"cl-leading-zeros", naiveFlaws{}, Fail},          // ... and 010 as 8
	{"chunk-size-underscore", naiveFlaws{}, Fail},
	{"chunk-size-sign", naiveFlaws{}, Fail},
	{"chunk-size-space", naiveFlaws{}, Fail},
	{"chunk-size-overflow", naiveFlaws{}, Fail},                 // out of range: read as 0, the chunk then parsed as a request
	{"chunk-lf", naiveFlaws{}, Warn},                            // lines end at LF: lenient, not misframed
	{"chunk-data-terminator", naiveFlaws{}, Fail},               // any two bytes after the data
	{"trailer-smuggle", naiveFlaws{}, Fail},                     // trailers left unread
	{"cr-splits-header", naiveFlaws{}, Warn},                    // no split, but the CR reaches the app
	{"cr-splits-header", naiveFlaws{crSplits: true}, Fail},      // X-Smuggled reaches the app
	{"header-name-x85", naiveFlaws{}, Fail},                     // str.strip() takes the \x85
	{"version-1-10", naiveFlaws{}, Warn},                        // any version served
	{"nul-method", naiveFlaws{}, Fail},                          // the NUL reaches REQUEST_METHOD
	{"pipeline-then-invalid", naiveFlaws{}, Pass},               // one request at a time: the valid one is answered
	{"pipeline-then-invalid", naiveFlaws{failFast: true}, Fail}, // the valid one is never answered
	{"pipeline-after-error", naiveFlaws{}, Fail},                // "abc" is no length: the body is a request
}

// TestParsingClasses: net/http, strict, passes every case of the
// published classes; the naive server, built with their flaws, does not.
func TestParsingClasses(t *testing.T) {
	byID := map[string]Case{}
	for _, c := range Cases() {
		byID[c.ID] = c
	}
	srv := httptest.NewServer(echoHandler())
	defer srv.Close()
	seen := map[string]bool{}
	var cases []Case
	for _, pc := range parsingCases {
		c, ok := byID[pc.id]
		if !ok {
			t.Fatalf("no case %s", pc.id)
		}
		if !seen[pc.id] {
			cases = append(cases, c)
		}
		seen[pc.id] = true
	}
	for _, r := range Run(context.Background(), fixedServer{srv.Listener.Addr().String()}, cases, Options{Timeout: time.Second}) {
		if r.Outcome != Pass {
			t.Errorf("net/http %s: %s (%s), want pass", r.Case.ID, r.Outcome, r.Detail)
		}
	}
	naives := map[naiveFlaws]*naive{}
	for _, pc := range parsingCases {
		n := naives[pc.flaws]
		if n == nil {
			n = startNaive(t, pc.flaws)
			naives[pc.flaws] = n
		}
		r := Run(context.Background(), n, []Case{byID[pc.id]}, Options{Timeout: time.Second})[0]
		if r.Outcome != pc.want {
			t.Errorf("naive %+v %s: %s (%s), want %s", pc.flaws, pc.id, r.Outcome, r.Detail, pc.want)
		} else {
			t.Logf("naive %+v %-22s %s: %s", pc.flaws, pc.id, r.Outcome, r.Detail)
		}
	}
}

func TestThrough(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name      string
		forwarded *int64
		behind    Outcome
		direct    Outcome
		want      Passage
	}{
		{"counters unread", nil, Pass, Fail, ""},
		{"front answered itself", n(0), Pass, Fail, Blocked},
		{"front answered itself, same verdict", n(0), Pass, Pass, Blocked},
		{"forwarded, verdict changed", n(1), Pass, Fail, Normalised},
		{"forwarded, made worse", n(1), Fail, Pass, Normalised},
		{"forwarded, same verdict", n(2), Fail, Fail, Passed},
		{"no direct verdict to compare", n(1), Warn, "", Passed},
		{"direct could not run", n(1), Warn, Error, Passed},
	} {
		got := Through(Result{Outcome: tc.behind, Forwarded: tc.forwarded}, tc.direct)
		if got != tc.want {
			t.Errorf("%s: Through = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// countingFront is a front that forwards what the script says, to test
// that Run asks it around each case and not around the liveness check.
type countingFront struct {
	marks, reads int
	forward      []int64
}

func (f *countingFront) Mark(context.Context) (any, error) { f.marks++; return f.marks, nil }
func (f *countingFront) Forwarded(_ context.Context, mark any) (int64, error) {
	f.reads++
	if mark.(int) != f.marks {
		return 0, errors.New("read against a stale mark")
	}
	return f.forward[f.reads-1], nil
}

// TestRunAsksTheFront checks Run marks the front before each case and reads
// what it forwarded right after, so the liveness check between cases is
// never counted as the case reaching the server.
func TestRunAsksTheFront(t *testing.T) {
	srv := httptest.NewServer(echoHandler())
	defer srv.Close()
	cases := Cases()[:3]
	f := &countingFront{forward: []int64{0, 1, 3}}
	rs := Run(context.Background(), fixedServer{srv.Listener.Addr().String()}, cases, Options{Timeout: time.Second, Front: f})
	if f.marks != 3 || f.reads != 3 {
		t.Fatalf("marks %d, reads %d, want 3 each", f.marks, f.reads)
	}
	for i, r := range rs {
		if r.Forwarded == nil || *r.Forwarded != f.forward[i] {
			t.Errorf("%s: forwarded %v, want %d", r.Case.ID, r.Forwarded, f.forward[i])
		}
	}
	if rs := Run(context.Background(), fixedServer{srv.Listener.Addr().String()}, cases[:1], Options{Timeout: time.Second}); rs[0].Forwarded != nil {
		t.Errorf("no front, yet forwarded %d", *rs[0].Forwarded)
	}
}
