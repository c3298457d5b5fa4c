package scenario

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/load"
)

// TestParseBrief reads the format's example as the shared brief gives it.
func TestParseBrief(t *testing.T) {
	data, err := os.ReadFile("testdata/brief.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("brief.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "crud" || len(s.Requests) != 1 || len(s.Flows) != 1 || len(s.Flows[0].Steps) != 4 {
		t.Fatalf("parsed %+v", s)
	}
	r := s.Requests[0]
	if r.Weight != 60 || r.Method != "GET" || r.Path != "/items/{rand:1:10000}" || len(r.Expect) != 1 || r.Expect[0] != 200 ||
		len(r.Headers) != 1 || r.Headers[0] != (Header{"Accept", "application/json"}) {
		t.Errorf("read = %+v", r)
	}
	create := s.Flows[0].Steps[0]
	if len(create.Capture) != 1 || create.Capture[0] != (load.Capture{Var: "id", JSON: "id"}) || create.Expect[0] != 201 ||
		!strings.Contains(create.Body, `"name":"item-{seq}"`) {
		t.Errorf("create = %+v", create)
	}
	if del := s.Flows[0].Steps[3]; len(del.Expect) != 2 || del.Expect[1] != 204 || del.Method != "DELETE" {
		t.Errorf("delete = %+v", del)
	}
	reqs, err := load.RenderSample(s.Mix(), "127.0.0.1:8000", 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(reqs, "\n")
	for _, want := range []string{"DELETE /items/id HTTP/1.1", "POST /items HTTP/1.1", "Accept: application/json"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q in the sample", want)
		}
	}
}

// TestParseDefaults: a name from the file, weight 1, GET, a regex capture,
// {choice}, and a block-literal body.
func TestParseDefaults(t *testing.T) {
	s, err := Parse("dir/shop.yml", []byte(`
requests:
  - path: /search?q={choice:red|green|blue}
flows:
  - name: order
    steps:
      - name: add
        method: POST
        path: /cart
        body: |
          {"sku": {rand:1:9}}
        capture:
          cart: {regex: 'cart=([0-9a-f]+)'}
      - {path: '/cart/{var:cart}', headers: {X-Cart: '{var:cart}'}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Requests[0]
	if s.Name != "shop" || r.Name != "GET /search?q={choice:red|green|blue}" || r.Weight != 1 || r.Method != "GET" || r.Expect != nil {
		t.Errorf("defaults: %+v %+v", s, r)
	}
	add := s.Flows[0].Steps[0]
	if add.Body != "{\"sku\": {rand:1:9}}\n" || add.Capture[0].Regex != "cart=([0-9a-f]+)" || s.Flows[0].Weight != 1 {
		t.Errorf("add = %+v", add)
	}
	if s.Source == "" || s.File != "dir/shop.yml" {
		t.Errorf("source not kept")
	}
}

// TestParseErrors: each malformed file fails once, at the line and column
// of what is wrong, saying what is wrong.
func TestParseErrors(t *testing.T) {
	const flowHead = "flows:\n  - name: f\n    steps:\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "s.yaml:1:1: empty scenario"},
		{"comment only", "# nothing\n", "s.yaml:1:1: empty scenario"},
		{"syntax", "requests:\n  - path: /a\n   bad: [\n", "s.yaml:3:"},
		{"tab indent", "requests:\n\t- path: /\n", "s.yaml:2:"},
		{"not a mapping", "- a\n- b\n", "s.yaml:1:1: the scenario: want a mapping"},
		{"unknown top key", "name: x\nrequest:\n  - path: /\n", `s.yaml:2:1: unknown key "request" in the scenario (known: description, flows, name, requests)`},
		{"unknown request key", "requests:\n  - path: /\n    wieght: 3\n", `s.yaml:3:5: unknown key "wieght" in a request (known: name, weight, method, path, headers, body, expect, capture)`},
		{"weight in a step", flowHead + "      - {path: /, weight: 2}\n", `s.yaml:4:19: unknown key "weight" in a flow step`},
		{"negative weight", "requests:\n  - path: /\n    weight: -3\n", "s.yaml:3:13: weight -3: want a whole number from 1 to 1000000"},
		{"zero weight", "requests:\n  - path: /\n    weight: 0\n", "s.yaml:3:13: weight 0"},
		{"weight text", "requests:\n  - path: /\n    weight: lots\n", "s.yaml:3:13: weight: want a whole number, got a string"},
		{"no path", "requests:\n  - name: a\n", "s.yaml:2:5: a request needs a path"},
		{"relative path", "requests:\n  - path: items\n", `s.yaml:2:11: path "items" must start with /`},
		{"bad rand", "requests:\n  - path: /items/{rand:9:1}\n", `s.yaml:2:11: bad variable "{rand:9:1}"`},
		{"unterminated", "requests:\n  - path: '/items/{rand:1:9'\n", `s.yaml:2:11: unterminated variable`},
		{"bad choice", "requests:\n  - path: /{choice:a||b}\n", "no empty choice"},
		{"var outside flow", "requests:\n  - path: '/items/{var:id}'\n", "s.yaml:2:11: {var:id} outside a flow"},
		{"var before capture", flowHead + "      - {path: '/items/{var:id}'}\n      - {path: /, capture: {id: {json: id}}}\n", "s.yaml:4:16: {var:id} is used before any step of the flow captures id"},
		{"var captured by itself", flowHead + "      - {path: '/items/{var:id}', capture: {id: {json: id}}}\n", "s.yaml:4:16: {var:id} is used before"},
		{"var in body", flowHead + "      - {path: /, capture: {id: {json: id}}}\n      - {path: /, body: '{var:idd}'}\n", "s.yaml:5:25: {var:idd} is used before"},
		{"var in header", flowHead + "      - {path: /, headers: {X-Id: '{var:nope}'}}\n", "s.yaml:4:35: {var:nope}"},
		{"capture outside flow", "requests:\n  - path: /\n    capture: {id: {json: id}}\n", "s.yaml:3:14: capture: only a flow's steps capture"},
		{"capture both", flowHead + "      - {path: /, capture: {id: {json: id, regex: '(x)'}}}\n", "s.yaml:4:33: capture id: give one of json"},
		{"capture unknown rule", flowHead + "      - {path: /, capture: {id: {xpath: id}}}\n", `s.yaml:4:34: unknown key "xpath" in capture id (known: json, regex)`},
		{"capture no group", flowHead + "      - {path: /, capture: {id: {regex: '[0-9]+'}}}\n", "has no group"},
		{"capture bad regex", flowHead + "      - {path: /, capture: {id: {regex: '(['}}}\n", "regex: error parsing regexp"},
		{"capture bad json path", flowHead + "      - {path: /, capture: {id: {json: a..b}}}\n", `json path "a..b" has an empty field`},
		{"capture name", flowHead + "      - {path: /, capture: {9id: {json: id}}}\n", `s.yaml:4:29: capture name "9id"`},
		{"expect range", "requests:\n  - path: /\n    expect: 2000\n", "s.yaml:3:13: expect 2000: want an HTTP status from 100 to 599"},
		{"expect text", "requests:\n  - path: /\n    expect: ok\n", "s.yaml:3:13: expect: want a whole number, got a string"},
		{"expect empty list", "requests:\n  - path: /\n    expect: []\n", "s.yaml:3:13: expect: an empty list"},
		{"expect list item", "requests:\n  - path: /\n    expect: [200, x]\n", "s.yaml:3:19: expect: want a whole number"},
		{"body mapping", "requests:\n  - path: /\n    method: POST\n    body: {\"a\": 1}\n", `s.yaml:4:11: body: want a string, got a mapping (quote a JSON body`},
		{"bad method", "requests:\n  - path: /\n    method: 'GE T'\n", `s.yaml:3:13: method "GE T" is not an HTTP method`},
		{"framing header", "requests:\n  - path: /\n    headers: {Content-Length: 3}\n", "s.yaml:3:15: header Content-Length: the body's framing"},
		{"header control", "requests:\n  - path: /\n    headers: {X-A: \"a\\x01b\"}\n", "s.yaml:3:20: header X-A: a value on one line, without control characters"},
		{"header not mapping", "requests:\n  - path: /\n    headers: [a]\n", "s.yaml:3:14: headers: want a mapping"},
		{"duplicate key", "requests:\n  - path: /\n    path: /b\n", "s.yaml:3:"},
		{"duplicate names", "requests:\n  - {name: a, path: /}\n  - {name: a, path: /b}\n", `two requests or flows are named "a"`},
		{"duplicate step names", flowHead + "      - {name: a, path: /}\n      - {name: a, path: /b}\n", `flow "f" has two steps named "a"`},
		{"flow without steps", "flows:\n  - name: f\n    steps: []\n", `s.yaml:3:12: flow "f" has no steps`},
		{"flow without name", "flows:\n  - steps:\n      - {path: /}\n", "s.yaml:2:5: a flow needs a name"},
		{"name with slash", "requests:\n  - {name: a/b, path: /}\n", `s.yaml:2:12: name "a/b"`},
		{"requests not list", "requests:\n  path: /\n", "s.yaml:2:3: requests: want a list"},
		{"nothing to send", "name: x\n", "s.yaml:1:1: the scenario has no requests and no flows"},
		{"anchor", "requests:\n  - &r {path: /}\n  - *r\n", "s.yaml:2:5: anchors, aliases, tags"},
		{"two documents", "requests:\n  - path: /\n---\nrequests:\n  - path: /b\n", "s.yaml:4:1: a second YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error\n got %s\nwant %s", msg, tc.want)
			}
			if !errLine.MatchString(msg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line of the form file:line:col: message", msg)
			}
		})
	}
}

var errLine = regexp.MustCompile(`^s\.yaml:[0-9]+:[0-9]+: \S`)

// FuzzParse: no input panics; an error is one line with a position; an
// accepted scenario compiles in the generator and renders.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/brief.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("requests:\n  - path: /\n"))
	f.Add([]byte("flows:\n  - name: f\n    steps:\n      - {path: /, capture: {id: {json: id}}}\n      - {path: '/{var:id}'}\n"))
	f.Add([]byte("requests: [{path: '/{choice:a|b}', expect: [200, 404], headers: {A: b}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("s.yaml", data)
		if err != nil {
			if msg := err.Error(); !errLine.MatchString(msg) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line of the form file:line:col: message", msg)
			}
			return
		}
		if _, err := load.RenderSample(s.Mix(), "127.0.0.1:8000", 1, 8); err != nil {
			t.Fatalf("accepted a scenario the generator refuses: %v\n%s", err, data)
		}
	})
}
