package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// itemStore is a tiny CRUD server like the bundled app's /items: POST
// creates (201 with the item's id), GET/PUT answer 200 or 404, DELETE 204
// or 404. It counts deletes that found their item, so a test can tell the
// captured ids reached it.
type itemStore struct {
	mu      sync.Mutex // guards everything below
	next    int
	items   map[int]bool
	deleted int // DELETEs of an item that existed
	// mode changes the create answer: "noid" leaves the id out, "500"
	// fails.
	mode string
}

func (s *itemStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/items" && r.Method == "POST" {
		switch s.mode {
		case "500":
			http.Error(w, "Internal Server Error: database is locked", 500)
			return
		case "noid":
			w.WriteHeader(201)
			fmt.Fprint(w, `{"name": "x"}`)
			return
		}
		s.next++
		s.items[s.next] = true
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"data": {"id": %d, "name": "item"}}`, s.next)
		return
	}
	idText, ok := strings.CutPrefix(r.URL.Path, "/items/")
	id, err := strconv.Atoi(idText)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	if !s.items[id] {
		http.Error(w, `{"error": "no such item"}`, 404)
		return
	}
	switch r.Method {
	case "GET", "PUT":
		fmt.Fprintf(w, `{"id": %d}`, id)
	case "DELETE":
		delete(s.items, id)
		s.deleted++
		w.WriteHeader(204)
	default:
		w.WriteHeader(405)
	}
}

func newItemServer(t *testing.T, mode string) (*itemStore, string) {
	t.Helper()
	s := &itemStore{items: map[int]bool{}, mode: mode}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, strings.TrimPrefix(srv.URL, "http://")
}

// lifecycle is a create → read → update → delete flow on the captured id,
// beside a plain request.
func lifecycle(capture Capture) []Template {
	id := "/items/{var:id}"
	return []Template{
		{Name: "missing", Weight: 1, Path: "/items/{rand:900000:999999}", Expect: []int{404}},
		{Name: "lifecycle", Weight: 3, Steps: []Template{
			{Name: "create", Method: "POST", Path: "/items", Body: `{"name":"{choice:a|b|c}-{seq}"}`,
				Header: []string{"Content-Type: application/json"}, Expect: []int{201}, Capture: []Capture{capture}},
			{Name: "read", Path: id, Expect: []int{200}},
			{Name: "update", Method: "PUT", Path: id, Body: `{"name":"x"}`, Expect: []int{200}},
			{Name: "delete", Method: "DELETE", Path: id, Expect: []int{200, 204}},
		}},
	}
}

// TestFlows runs the lifecycle flow in the closed and the open model, with
// a JSON and a regex capture, and checks the server deleted the items the
// flow created: the captured ids reached it.
func TestFlows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		capture Capture
		rate    float64
	}{
		{"closed json", Capture{Var: "id", JSON: "data.id"}, 0},
		{"closed regex", Capture{Var: "id", Regex: `"id": *([0-9]+)`}, 0},
		{"open json", Capture{Var: "id", JSON: "data.id"}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, addr := newItemServer(t, "")
			cfg := Config{Addr: addr, Mix: lifecycle(tc.capture), Connections: 4, Duration: 700 * time.Millisecond, Rate: tc.rate}
			if err := Preflight(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			res := run(t, cfg)
			store.mu.Lock()
			deleted := store.deleted
			store.mu.Unlock()
			if res.Errors.Unexpected != 0 || len(res.Unexpected) != 0 {
				t.Errorf("unexpected statuses: %d %v", res.Errors.Unexpected, res.Unexpected)
			}
			if res.Errors.Status != 0 {
				t.Errorf("status errors %d: expected statuses must not count", res.Errors.Status)
			}
			f := res.Flows
			if f.Completed < 5 || f.Aborted != 0 || f.Started < f.Completed || f.Started > f.Completed+int64(cfg.Connections) {
				t.Errorf("flows %+v", f)
			}
			// One delete by the preflight, one per completed flow; a
			// flow cut off by the end of the run may have deleted too.
			if got := res.StatusCounts[204]; got < f.Completed || int64(deleted) < f.Completed+1 || res.StatusCounts[404] == 0 {
				t.Errorf("204s %d, server deleted %d, flows completed %d, 404s %d", got, deleted, f.Completed, res.StatusCounts[404])
			}
		})
	}
}

// TestFlowBadAnswers: a create that fails or carries no id is an
// unexpected status or a capture miss, counted by request; the flow stops
// there, and the preflight names the request, the rule and the body.
func TestFlowBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		mode, preflight string
	}{
		{"500", `preflight: request "lifecycle/create" (POST /items): expected status 201, got 500; body starts "Internal Server Error: database is locked\n"`},
		{"noid", `preflight: request "lifecycle/create" (POST /items): capture id {json: data.id} found no field data.id in the 201 response; body starts "{\"name\": \"x\"}"`},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			_, addr := newItemServer(t, tc.mode)
			cfg := Config{Addr: addr, Mix: lifecycle(Capture{Var: "id", JSON: "data.id"}), Connections: 2, Duration: 300 * time.Millisecond}
			err := Preflight(context.Background(), cfg)
			if err == nil || err.Error() != tc.preflight {
				t.Fatalf("preflight error\n got %v\nwant %s", err, tc.preflight)
			}
			if mm := (*Mismatch)(nil); !errors.As(err, &mm) {
				t.Errorf("a scenario mismatch is not a *Mismatch: %T", err)
			}
			res := run(t, cfg)
			if res.Flows.Started == 0 || res.Flows.Completed != 0 || res.Flows.Aborted == 0 {
				t.Errorf("flows %+v", res.Flows)
			}
			switch tc.mode {
			case "500":
				if res.Unexpected["lifecycle/create"][500] == 0 || res.Errors.Unexpected != res.Unexpected["lifecycle/create"][500] {
					t.Errorf("unexpected %v, errors %+v", res.Unexpected, res.Errors)
				}
			case "noid":
				if res.CaptureMisses["lifecycle/create id"] == 0 || res.Errors.Unexpected != 0 {
					t.Errorf("capture misses %v, errors %+v", res.CaptureMisses, res.Errors)
				}
			}
			if !strings.Contains(strings.Join(res.Warnings, "\n"), map[string]string{"500": "unexpected_status: lifecycle/create: 500", "noid": "capture_missed"}[tc.mode]) {
				t.Errorf("warnings %q", res.Warnings)
			}
		})
	}
}

// TestPreflightServerGone: a server that is not there fails the preflight,
// but not as a mismatch of the scenario.
func TestPreflightServerGone(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	err := Preflight(context.Background(), Config{Addr: addr, Mix: []Template{{Path: "/"}}, Timeout: time.Second})
	if mm := (*Mismatch)(nil); err == nil || errors.As(err, &mm) {
		t.Errorf("err = %v (%T)", err, err)
	}
}

// TestFlowTemplateErrors: a value used before it is captured, or outside a
// flow, and malformed variables fail when the mix is compiled.
func TestFlowTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		mix  []Template
		want string
	}{
		{[]Template{{Path: "/items/{var:id}"}}, "{var:id} outside a flow"},
		{[]Template{{Name: "f", Steps: []Template{{Path: "/items/{var:id}", Capture: []Capture{{Var: "id", JSON: "id"}}}}}}, "used before any earlier step of the flow captures id"},
		{[]Template{{Name: "f", Steps: []Template{{Path: "/", Capture: []Capture{{Var: "id", Regex: "[0-9]+"}}}}}}, "has no group"},
		{[]Template{{Name: "f", Steps: []Template{{Path: "/", Capture: []Capture{{Var: "id"}}}}}}, "give json or regex"},
		{[]Template{{Path: "/{choice:a||b}"}}, "no empty choice"},
		{[]Template{{Path: "/", Capture: []Capture{{Var: "id", JSON: "id"}}}}, "only a flow's steps capture"},
		{[]Template{{Path: "/", Expect: []int{42}}}, "not an HTTP status"},
	} {
		_, err := compileMix(tc.mix, "h")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.mix, err, tc.want)
		}
	}
}

// TestCaptureFind covers the JSON paths and regex groups.
func TestCaptureFind(t *testing.T) {
	body := []byte(`{"id": 12, "name": "a b", "tags": [{"k": "x"}], "big": 12345678901234567890, "ok": true, "n": null}`)
	for _, tc := range []struct {
		cp        Capture
		want, why string
	}{
		{Capture{Var: "v", JSON: "id"}, "12", ""},
		{Capture{Var: "v", JSON: "tags.0.k"}, "x", ""},
		{Capture{Var: "v", JSON: "big"}, "12345678901234567890", ""},
		{Capture{Var: "v", JSON: "ok"}, "true", ""},
		{Capture{Var: "v", JSON: "n"}, "", "n is not a string, number or boolean"},
		{Capture{Var: "v", JSON: "tags.3.k"}, "", "no field tags.3.k"},
		{Capture{Var: "v", Regex: `"name": "([^"]*)"`}, "a b", ""},
		{Capture{Var: "v", Regex: `"nope": (\d+)`}, "", "no match"},
	} {
		k, err := newCapturer(tc.cp)
		if err != nil {
			t.Fatal(err)
		}
		got, why := k.find(body)
		if string(got) != tc.want || why != tc.why {
			t.Errorf("%+v: %q %q, want %q %q", tc.cp, got, why, tc.want, tc.why)
		}
	}
	if _, why := (&capturer{path: []string{"id"}}).find([]byte("<html>")); why != "not JSON" {
		t.Errorf("html: %q", why)
	}
	// A captured value in a path is escaped; in a body it is sent as is.
	m, err := compileMix([]Template{{Name: "f", Steps: []Template{
		{Path: "/", Capture: []Capture{{Var: "v", JSON: "name"}}},
		{Method: "POST", Path: "/items/{var:v}", Body: `{"name":"{var:v}"}`},
	}}}, "h")
	if err != nil {
		t.Fatal(err)
	}
	v := &vars{vals: [][]byte{[]byte("a b/c")}}
	out, _ := m.tmpl[0].flow.steps[1].appendRequest(nil, nil, v)
	if want := "POST /items/a%20b%2Fc HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n{\"name\":\"a b/c\"}"; string(out) != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// TestFlowsNeedPipelineOne: pipelining would send a step before the
// response it depends on.
func TestFlowsNeedPipelineOne(t *testing.T) {
	_, err := Run(context.Background(), Config{Addr: "127.0.0.1:1", Mix: lifecycle(Capture{Var: "id", JSON: "id"}), Connections: 1, Duration: time.Second, Pipeline: 2})
	if err == nil || !strings.Contains(err.Error(), "pipeline depth 1") {
		t.Errorf("err = %v", err)
	}
}

// TestParserKeepsBody: with a sink, the parser hands over the body (chunks
// joined, interim responses skipped) however the response is split.
func TestParserKeepsBody(t *testing.T) {
	for _, tc := range []struct{ in, body string }{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=1\r\nlo\r\n0\r\nT: 1\r\n\r\n", "hello"},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", "{}"},
	} {
		for split := 0; split <= len(tc.in); split++ {
			var body []byte
			p := respParser{sink: &body}
			var buf []byte
			done := false
			for _, part := range []string{tc.in[:split], tc.in[split:]} {
				buf = append(buf, part...)
				for len(buf) > 0 && !done {
					n, d, err := p.feed(buf)
					if err != nil {
						t.Fatalf("%q split %d: %v", tc.in, split, err)
					}
					buf, done = buf[n:], d
					if n == 0 {
						break
					}
				}
			}
			if !done || string(body) != tc.body {
				t.Errorf("%q split %d: done %v body %q", tc.in, split, done, body)
			}
		}
	}
}
