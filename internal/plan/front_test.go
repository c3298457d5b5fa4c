package plan

import (
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/deploy"
	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/server"
)

func TestWithFronts(t *testing.T) {
	cell := func(id string) Cell {
		return Cell{Status: server.Status{Adapter: &server.Adapter{ID: id}}, Shape: server.Shape{Workers: 1, Threads: 1}}
	}
	cells := []Cell{cell("a"), cell("b")}
	for _, tc := range []struct {
		fronts []front.Kind
		want   string
	}{
		{nil, "a 1x1 ,b 1x1 "},
		{[]front.Kind{front.None}, "a 1x1 ,b 1x1 "},
		{[]front.Kind{front.Varnish}, "a 1x1  behind varnish,b 1x1  behind varnish"},
		{[]front.Kind{front.None, front.Nginx}, "a 1x1 ,a 1x1  behind nginx,b 1x1 ,b 1x1  behind nginx"},
	} {
		var keys []string
		for _, c := range withFronts(cells, tc.fronts) {
			keys = append(keys, c.Key())
		}
		if got := strings.Join(keys, ","); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.fronts, got, tc.want)
		}
	}
}

func TestConnection(t *testing.T) {
	keep := front.Config{NginxSite: "upstream x {\n    server 127.0.0.1:1;\n    keepalive 16;\n}\n"}
	closes := front.Config{NginxSite: "upstream x {\n    server 127.0.0.1:1;\n}\n"}
	facts := func(id string) server.Facts {
		for _, a := range server.All() {
			if a.ID == id {
				return a.Facts
			}
		}
		t.Fatalf("no adapter %s", id)
		return server.Facts{}
	}
	unixHTTP := deploy.Upstream{Protocol: server.HTTPUnix, Socket: "/x/front.sock"}
	uwsgiSock := deploy.Upstream{Protocol: server.UWSGI, Socket: "/x/front.sock"}
	for _, tc := range []struct {
		kind         front.Kind
		server       string
		up           deploy.Upstream
		cfg          front.Config
		how, noteHas string
	}{
		{front.Varnish, "gunicorn-gthread", deploy.Upstream{}, keep, "http keep-alive", ""},
		{front.Varnish, "gunicorn-sync", deploy.Upstream{}, closes, "http, one connection per request (the server closes each)", ""},
		{front.Nginx, "gunicorn-gthread", unixHTTP, keep, "http keep-alive over a unix socket", ""},
		{front.Nginx, "gunicorn-sync", unixHTTP, closes, "http over a unix socket, one connection per request (the server closes each)", ""},
		{front.Nginx, "uwsgi", uwsgiSock, closes, "uwsgi protocol over a unix socket, one connection per request", ""},
		{front.Nginx, "uwsgi", deploy.Upstream{}, keep, "http keep-alive", "too deep"},
		{front.Nginx, "waitress", deploy.Upstream{}, keep, "http keep-alive", ""},
	} {
		how, note := connection(tc.kind, facts(tc.server), tc.up, tc.cfg)
		if how != tc.how || (tc.noteHas == "") != (note == "") || !strings.Contains(note, tc.noteHas) {
			t.Errorf("%s %s: %q %q", tc.kind, tc.server, how, note)
		}
	}
}

// TestFrontSocket: only nginx, and only for a server whose experts connect
// nginx over a unix socket, gets one; never past bind(2)'s path limit.
func TestFrontSocket(t *testing.T) {
	cell := func(id string, k front.Kind) Cell {
		for _, a := range server.All() {
			if a.ID == id {
				return Cell{Status: server.Status{Adapter: a}, Front: k}
			}
		}
		t.Fatalf("no adapter %s", id)
		return Cell{}
	}
	for _, tc := range []struct {
		id   string
		k    front.Kind
		dir  string
		want server.Protocol
	}{
		{"gunicorn-sync", front.Nginx, "/tmp/w/001", server.HTTPUnix},
		{"uwsgi", front.Nginx, "/tmp/w/001", server.UWSGI},
		{"uwsgi", front.Varnish, "/tmp/w/001", ""},
		{"waitress", front.Nginx, "/tmp/w/001", ""},
		{"gunicorn-gthread", front.None, "/tmp/w/001", ""},
		{"gunicorn-gthread", front.Nginx, "/" + strings.Repeat("d", 100), ""},
	} {
		up := frontSocket(cell(tc.id, tc.k), tc.dir)
		if up.Protocol != tc.want || (up.Socket != "") != (tc.want != "") {
			t.Errorf("%s behind %q in %s: %+v, want %q", tc.id, tc.k, tc.dir, up, tc.want)
		}
	}
}
