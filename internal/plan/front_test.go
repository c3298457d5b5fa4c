package plan

import (
	"strings"
	"testing"

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
	for _, tc := range []struct {
		kind         front.Kind
		family       string
		cfg          front.Config
		how, noteHas string
	}{
		{front.Varnish, "gunicorn", keep, "http keep-alive", ""},
		{front.Varnish, "gunicorn", closes, "http, one connection per request (the server closes each)", ""},
		{front.Nginx, "gunicorn", keep, "http keep-alive", "unix socket"},
		{front.Nginx, "uwsgi", keep, "http keep-alive", "uwsgi_pass"},
		{front.Nginx, "waitress", keep, "http keep-alive", ""},
	} {
		how, note := connection(tc.kind, tc.family, tc.cfg)
		if how != tc.how || (tc.noteHas == "") != (note == "") || !strings.Contains(note, tc.noteHas) {
			t.Errorf("%s %s: %q %q", tc.kind, tc.family, how, note)
		}
	}
}
