package probe

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
// probes exist to find: it frames bodies with strconv's lenient parsing,
// prefers chunked but keeps the connection, never drains an unread body,
// sends bodies after HEAD, passes header bytes through as they came.
type naive struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startNaive(t *testing.T) *naive {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &naive{ln: ln}
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
		method, path := parts[0], parts[1]
		hdr := map[string]string{}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			if l == "" {
				break
			}
			k, v, _ := strings.Cut(l, ":")
			hdr[strings.ToLower(strings.TrimSpace(k))] = strings.TrimLeft(v, " ")
		}
		var body []byte
		if strings.Contains(hdr["transfer-encoding"], "chunked") {
			for {
				sz, _ := br.ReadString('\n')
				size, _ := strconv.ParseInt(strings.TrimSpace(strings.SplitN(sz, ";", 2)[0]), 0, 64)
				if size <= 0 {
					br.ReadString('\n')
					break
				}
				b := make([]byte, size+2)
				io.ReadFull(br, b)
				body = append(body, b[:size]...)
			}
		} else if cl, err := strconv.Atoi(hdr["content-length"]); err == nil && cl > 0 && !strings.HasPrefix(path, "/probe/unread") {
			body = make([]byte, cl)
			io.ReadFull(br, body)
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
			j, _ := json.Marshal(map[string]any{"path_info": path, "body_len": len(body),
				"body_sha256": hex.EncodeToString(h[:]), "headers": headers})
			out = string(j)
		default:
			out = "Hello, World!"
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(out), out) // HEAD too
		_ = method
	}
}

// TestNaiveServerIsCaught: each flaw of the naive server fails the case
// built to find it.
func TestNaiveServerIsCaught(t *testing.T) {
	n := startNaive(t)
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
