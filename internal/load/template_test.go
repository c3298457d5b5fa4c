package load

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRenderTemplates(t *testing.T) {
	cases := []struct {
		name string
		tmpl Template
		want string // regexp the rendered request must match in full
	}{
		{
			name: "plain GET",
			tmpl: Template{Path: "/hello?x=1"},
			want: `GET /hello\?x=1 HTTP/1\.1\r\nHost: h:1\r\n\r\n`,
		},
		{
			name: "headers and host override",
			tmpl: Template{Method: "DELETE", Path: "/a", Header: []string{"X-A:  b ", "Host: other"}},
			want: `DELETE /a HTTP/1\.1\r\nX-A: b\r\nHost: other\r\n\r\n`,
		},
		{
			name: "empty POST carries a length",
			tmpl: Template{Method: "POST", Path: "/p"},
			want: `POST /p HTTP/1\.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n`,
		},
		{
			name: "random path",
			tmpl: Template{Path: "/items/{rand:1:3}/x"},
			want: `GET /items/[123]/x HTTP/1\.1\r\nHost: h:1\r\n\r\n`,
		},
		{
			name: "JSON body with variables",
			tmpl: Template{Method: "PUT", Path: "/i/{seq}", Body: `{"n":{rand:-5:-5},"s":"{seq}","o":{}}`},
			want: `PUT /i/1 HTTP/1\.1\r\nHost: h:1\r\nContent-Length: 23\r\n\r\n\{"n":-5,"s":"2","o":\{\}\}`,
		},
		{
			name: "braces that are not variables",
			tmpl: Template{Path: "/{x}/{seq"},
			want: `GET /\{x\}/\{seq HTTP/1\.1\r\nHost: h:1\r\n\r\n`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderSample([]Template{tc.tmpl}, "h:1", 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^` + tc.want + `$`).MatchString(got[0]) {
				t.Fatalf("rendered %q, want %q", got[0], tc.want)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := []struct {
		tmpl Template
		want string
	}{
		{Template{Path: "/{rand:1}"}, "want {rand:LO:HI}"},
		{Template{Path: "/{rand:a:b}"}, "want {rand:LO:HI}"},
		{Template{Path: "/{rand:1:2"}, "unterminated"},
		{Template{Body: "{rand:5:1}"}, "LO <= HI"},
		{Template{Path: "/a b"}, "no spaces"},
		{Template{Path: "/a\r\nX: y"}, "control"},
		{Template{Method: "G\nET"}, "invalid method"},
		{Template{Header: []string{"X: a\r\nY: b"}}, "Name: value"},
		{Template{Header: []string{"Transfer-Encoding: chunked"}}, "framing"},
		{Template{Weight: -1}, "negative weight"},
	}
	for _, tc := range cases {
		_, err := RenderSample([]Template{tc.tmpl}, "h", 1, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.tmpl, err, tc.want)
		}
	}
	if _, err := RenderSample([]Template{{}}, "bad host", 1, 1); err == nil {
		t.Error("a Host with a space was accepted")
	}
}

// The same seed gives the same requests; another seed does not.
func TestTemplateSeedReproducible(t *testing.T) {
	mix := []Template{
		{Weight: 3, Path: "/a/{rand:1:1000000}"},
		{Weight: 1, Method: "POST", Path: "/b", Body: "{rand:0:99}"},
	}
	a, _ := RenderSample(mix, "h", 42, 50)
	b, _ := RenderSample(mix, "h", 42, 50)
	c, _ := RenderSample(mix, "h", 43, 50)
	if !slices.Equal(a, b) {
		t.Error("the same seed rendered different requests")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds rendered the same requests")
	}
}

func TestRandRange(t *testing.T) {
	segs, err := parseSegments("{rand:-2:2}")
	if err != nil {
		t.Fatal(err)
	}
	v := &vars{rng: connRNG(1, 0), seq: new(atomic.Int64)}
	seen := map[int]int{}
	for range 2000 {
		n, err := strconv.Atoi(string(appendSegments(nil, segs, v)))
		if err != nil || n < -2 || n > 2 {
			t.Fatalf("rendered %d, %v; want -2..2", n, err)
		}
		seen[n]++
	}
	if len(seen) != 5 {
		t.Errorf("values seen %v, want all of -2..2", seen)
	}
	full, _ := parseSegments("{rand:-9223372036854775808:9223372036854775807}")
	if s := string(appendSegments(nil, full, v)); s == "" {
		t.Error("full-range variable rendered nothing")
	}
}

func TestMixWeights(t *testing.T) {
	m, err := compileMix([]Template{{Name: "a", Weight: 1}, {Name: "b", Weight: 0}, {Name: "c", Weight: 8}}, "h")
	if err != nil {
		t.Fatal(err)
	}
	rng := connRNG(5, 0)
	count := map[string]int{}
	for range 10000 {
		count[m.pick(rng).name]++
	}
	// Weight 0 counts as 1, so 1:1:8.
	if count["a"] < 800 || count["a"] > 1200 || count["b"] < 800 || count["b"] > 1200 || count["c"] < 7600 {
		t.Errorf("picks %v, want about 1000:1000:8000", count)
	}
}

func TestAppendRequestAllocs(t *testing.T) {
	m, err := compileMix([]Template{{Method: "POST", Path: "/items/{rand:1:10000}", Body: `{"id":{seq},"q":{rand:1:100}}`}}, "127.0.0.1:8000")
	if err != nil {
		t.Fatal(err)
	}
	v := &vars{rng: connRNG(1, 0), seq: new(atomic.Int64)}
	var buf, scratch []byte
	buf, scratch = m.tmpl[0].appendRequest(buf, scratch, v)
	allocs := testing.AllocsPerRun(100, func() {
		buf, scratch = m.tmpl[0].appendRequest(buf[:0], scratch, v)
	})
	if allocs != 0 {
		t.Errorf("rendering a request allocates %v times, want 0", allocs)
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	for _, tc := range []struct {
		name string
		tmpl Template
	}{
		{"static", Template{Path: "/plaintext"}},
		{"variables", Template{Method: "PUT", Path: "/items/{rand:1:10000}", Header: []string{"Content-Type: application/json"},
			Body: `{"name":"item-{seq}","price_cents":{rand:100:99999},"qty":{rand:1:100}}`}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := compileMix([]Template{tc.tmpl}, "127.0.0.1:8000")
			if err != nil {
				b.Fatal(err)
			}
			v := &vars{rng: connRNG(1, 0), seq: new(atomic.Int64)}
			var buf, scratch []byte
			b.ReportAllocs()
			for b.Loop() {
				buf, scratch = m.tmpl[0].appendRequest(buf[:0], scratch, v)
			}
		})
	}
}
