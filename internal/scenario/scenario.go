// Package scenario reads scenario files: the requests a user's app gets,
// as YAML, for the load generator.
//
// A scenario names independent requests, each picked by weight, and flows:
// sequences of requests one virtual user (a connection) runs in order,
// where a step may capture a value from its response (a JSON field, or a
// regular expression's first group) for the later steps of the same flow.
// A flow is picked by weight among the requests and flows, then all its
// steps run:
//
//	name: crud
//	description: what an ordinary CRUD app behind a cache sees at its origin
//	requests:
//	  - name: read
//	    weight: 60
//	    method: GET
//	    path: /items/{rand:1:10000}
//	    headers: {Accept: application/json}
//	    expect: 200            # or a list: [200, 404]
//	flows:
//	  - name: lifecycle
//	    weight: 10
//	    steps:
//	      - name: create
//	        method: POST
//	        path: /items
//	        headers: {Content-Type: application/json}
//	        body: '{"name":"item-{seq}","qty":{rand:1:100}}'
//	        expect: 201
//	        capture:
//	          id: {json: id}   # or {regex: '"id": *([0-9]+)'}
//	      - {name: read, method: GET, path: '/items/{var:id}', expect: 200}
//
// Path, header values and body may hold variables: {rand:LO:HI}, {seq},
// {choice:a|b|c} and, in a flow's steps, {var:NAME} for a value an earlier
// step captured. Only these forms start a variable, so JSON braces pass
// through. A request that names no expect accepts any 2xx.
//
// Parsing is strict, since a typo in a benchmark's input silently measures
// something else: unknown keys, values of the wrong kind, malformed
// variables, a weight below 1, a status that is not one, and a {var:NAME}
// no earlier step captures are errors, each reported once as
// "file:line:col: what is wrong".
package scenario

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/wsgibench/wsgibench/internal/load"
)

// Scenario is a parsed scenario file.
type Scenario struct {
	Name        string
	Description string
	Requests    []Request
	Flows       []Flow
	// File is where it was read from; Source is its text as read, which a
	// results file records so a run can be reviewed and repeated.
	File   string
	Source string
}

// Request is one request, independent or a flow's step.
type Request struct {
	Name    string
	Weight  int // independent requests only; 1 when left out
	Method  string
	Path    string
	Headers []Header // in the file's order
	Body    string
	Expect  []int          // empty: any 2xx
	Capture []load.Capture // flow steps only
}

// Header is one request header.
type Header struct{ Name, Value string }

// Flow is a sequence of requests one virtual user runs in order.
type Flow struct {
	Name   string
	Weight int
	Steps  []Request
}

// Error is a problem at a place in a scenario file.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// Mix is the scenario as the load generator's templates: the requests,
// then the flows.
func (s *Scenario) Mix() []load.Template {
	var mix []load.Template
	for _, r := range s.Requests {
		mix = append(mix, r.template())
	}
	for _, f := range s.Flows {
		t := load.Template{Name: f.Name, Weight: f.Weight}
		for _, st := range f.Steps {
			t.Steps = append(t.Steps, st.template())
		}
		mix = append(mix, t)
	}
	return mix
}

func (r Request) template() load.Template {
	t := load.Template{Name: r.Name, Weight: r.Weight, Method: r.Method, Path: r.Path, Body: r.Body,
		Expect: r.Expect, Capture: r.Capture}
	for _, h := range r.Headers {
		t.Header = append(t.Header, h.Name+": "+h.Value)
	}
	return t
}

// Parse reads a scenario from data; file names it in errors. A scenario
// without a name is named after its file.
func Parse(file string, data []byte) (*Scenario, error) {
	p := &reader{file: file}
	s := p.parse(data)
	if p.err != nil {
		return nil, p.err
	}
	s.File, s.Source = file, string(data)
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return s, nil
}

// reader walks the YAML tree, keeping the first error.
type reader struct {
	file string
	err  *Error
}

func (p *reader) failAt(tk *token.Token, format string, args ...any) {
	if p.err != nil {
		return
	}
	e := &Error{File: p.file, Line: 1, Col: 1, Msg: fmt.Sprintf(format, args...)}
	if tk != nil && tk.Position != nil {
		e.Line, e.Col = tk.Position.Line, tk.Position.Column
	}
	p.err = e
}

func (p *reader) fail(n ast.Node, format string, args ...any) {
	var tk *token.Token
	switch m := n.(type) {
	case nil:
	case *ast.MappingNode:
		// A block mapping's own token is its first colon; point at its
		// first key instead.
		tk = m.GetToken()
		if !m.IsFlowStyle && len(m.Values) > 0 {
			tk = m.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		tk = m.Key.GetToken()
	default:
		tk = n.GetToken()
	}
	p.failAt(tk, format, args...)
}

func (p *reader) parse(data []byte) *Scenario {
	s := &Scenario{}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var tk *token.Token
		msg := err.Error()
		if ye, ok := err.(interface {
			GetToken() *token.Token
			GetMessage() string
		}); ok {
			tk, msg = ye.GetToken(), ye.GetMessage()
		}
		p.failAt(tk, "%s", oneLine(msg))
		return s
	}
	var body ast.Node
	for i, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			p.fail(d.Body, "a second YAML document: a scenario file holds one")
			return s
		}
		body = f.Docs[i].Body
	}
	if body == nil {
		p.failAt(nil, "empty scenario: want name, requests and/or flows")
		return s
	}
	m := p.mapping(body, "the scenario")
	if m == nil {
		return s
	}
	p.fields(m, "the scenario", map[string]func(ast.Node){
		"name":        func(n ast.Node) { s.Name = p.str(n, "name") },
		"description": func(n ast.Node) { s.Description = p.str(n, "description") },
		"requests": func(n ast.Node) {
			for _, e := range p.seq(n, "requests") {
				s.Requests = append(s.Requests, p.request(e, nil))
			}
		},
		"flows": func(n ast.Node) {
			for _, e := range p.seq(n, "flows") {
				s.Flows = append(s.Flows, p.flow(e))
			}
		},
	})
	if p.err == nil && len(s.Requests) == 0 && len(s.Flows) == 0 {
		p.fail(body, "the scenario has no requests and no flows")
	}
	if p.err == nil {
		p.uniqueNames(m, s)
	}
	return s
}

// uniqueNames rejects two requests or flows of one name: results count
// unexpected statuses by name.
func (p *reader) uniqueNames(m *ast.MappingNode, s *Scenario) {
	var names []string
	for _, r := range s.Requests {
		names = append(names, r.Name)
	}
	for _, f := range s.Flows {
		names = append(names, f.Name)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			p.fail(m, "two requests or flows are named %q: give each its own name", n)
			return
		}
		seen[n] = true
	}
	for _, f := range s.Flows {
		steps := map[string]bool{}
		for _, st := range f.Steps {
			if steps[st.Name] {
				p.fail(m, "flow %q has two steps named %q", f.Name, st.Name)
				return
			}
			steps[st.Name] = true
		}
	}
}

// captured tracks, through a flow, the values its earlier steps capture.
type captured map[string]bool

var requestKeys = []string{"name", "weight", "method", "path", "headers", "body", "expect", "capture"}

// request reads one request; in a flow, have holds the values earlier
// steps captured (and gains this step's).
func (p *reader) request(n ast.Node, have captured) Request {
	r := Request{Weight: 1, Method: "GET"}
	what := "a request"
	if have != nil {
		what = "a flow step"
	}
	m := p.mapping(n, what)
	if m == nil {
		return r
	}
	var pathNode ast.Node
	var uses []struct {
		n    ast.Node
		text string
	}
	use := func(n ast.Node, s string) string {
		uses = append(uses, struct {
			n    ast.Node
			text string
		}{n, s})
		return s
	}
	var captureNode ast.Node
	handlers := map[string]func(ast.Node){
		"name":   func(n ast.Node) { r.Name = p.name(n) },
		"weight": func(n ast.Node) { r.Weight = p.weight(n) },
		"method": func(n ast.Node) {
			r.Method = p.str(n, "method")
			if !load.IsToken(r.Method) {
				p.fail(n, "method %q is not an HTTP method", r.Method)
			}
		},
		"path": func(n ast.Node) { pathNode = n; r.Path = use(n, p.str(n, "path")) },
		"headers": func(n ast.Node) {
			hm := p.mapping(n, "headers")
			if hm == nil {
				return
			}
			for _, mv := range hm.Values {
				k := p.str(mv.Key, "a header name")
				if !load.IsToken(k) {
					p.fail(mv.Key, "header name %q is not a valid name", k)
				}
				switch strings.ToLower(k) {
				case "content-length", "transfer-encoding":
					p.fail(mv.Key, "header %s: the body's framing is set from the body", k)
				}
				v := use(mv.Value, p.str(mv.Value, "header "+k))
				if strings.ContainsFunc(v, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
					p.fail(mv.Value, "header %s: a value on one line, without control characters", k)
				}
				r.Headers = append(r.Headers, Header{Name: k, Value: v})
			}
		},
		"body":   func(n ast.Node) { r.Body = use(n, p.str(n, "body")) },
		"expect": func(n ast.Node) { r.Expect = p.expect(n) },
		"capture": func(n ast.Node) {
			captureNode = n
			if have == nil {
				p.fail(n, "capture: only a flow's steps capture values (move this request into a flow)")
				return
			}
			r.Capture = p.captures(n)
		},
	}
	if have != nil {
		delete(handlers, "weight")
	}
	p.fields(m, what, handlers)
	if p.err != nil {
		return r
	}
	if pathNode == nil {
		p.fail(m, "%s needs a path", what)
		return r
	}
	if !strings.HasPrefix(r.Path, "/") || strings.ContainsFunc(r.Path, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		p.fail(pathNode, "path %q must start with / and hold no spaces or control characters", r.Path)
		return r
	}
	if r.Name == "" {
		r.Name = r.Method + " " + r.Path
	}
	for _, u := range uses {
		vars, err := load.TemplateVars(u.text)
		if err != nil {
			p.fail(u.n, "%v", err)
			return r
		}
		for _, v := range vars {
			switch {
			case have == nil:
				p.fail(u.n, "{var:%s} outside a flow: only a flow's steps can use captured values", v)
				return r
			case !have[v]:
				p.fail(u.n, "{var:%s} is used before any step of the flow captures %s", v, v)
				return r
			}
		}
	}
	for _, c := range r.Capture {
		have[c.Var] = true
	}
	// Last, the generator's own compiler: whatever it would refuse is
	// refused here, at the request.
	probe := r.template()
	mix := []load.Template{probe}
	if have != nil {
		var steps []load.Template
		for v := range have {
			steps = append(steps, load.Template{Path: "/", Capture: []load.Capture{{Var: v, JSON: "v"}}})
		}
		probe.Weight = 0
		mix = []load.Template{{Name: "flow", Steps: append(steps, probe)}}
	}
	if _, err := load.RenderSample(mix, "localhost", 1, 1); err != nil {
		at := captureNode
		if at == nil {
			at = m
		}
		msg := err.Error()
		if have != nil {
			_, msg, _ = strings.Cut(msg, ": ") // the stand-in flow's name
		}
		p.fail(at, "%s", msg)
	}
	return r
}

func (p *reader) flow(n ast.Node) Flow {
	f := Flow{Weight: 1}
	m := p.mapping(n, "a flow")
	if m == nil {
		return f
	}
	var stepsNode ast.Node
	p.fields(m, "a flow", map[string]func(ast.Node){
		"name":   func(n ast.Node) { f.Name = p.name(n) },
		"weight": func(n ast.Node) { f.Weight = p.weight(n) },
		"steps": func(n ast.Node) {
			stepsNode = n
			have := captured{}
			for _, e := range p.seq(n, "steps") {
				f.Steps = append(f.Steps, p.request(e, have))
			}
		},
	})
	switch {
	case p.err != nil:
	case f.Name == "":
		p.fail(m, "a flow needs a name")
	case len(f.Steps) == 0:
		at := ast.Node(m)
		if stepsNode != nil {
			at = stepsNode
		}
		p.fail(at, "flow %q has no steps", f.Name)
	}
	return f
}

func (p *reader) captures(n ast.Node) []load.Capture {
	m := p.mapping(n, "capture")
	if m == nil {
		return nil
	}
	var out []load.Capture
	for _, mv := range m.Values {
		name := p.str(mv.Key, "a capture's name")
		if !load.VarNameOK(name) {
			p.fail(mv.Key, "capture name %q: want letters, digits and _, not starting with a digit", name)
			return out
		}
		c := load.Capture{Var: name}
		rule := p.mapping(mv.Value, "capture "+name)
		if rule == nil {
			return out
		}
		p.fields(rule, "capture "+name, map[string]func(ast.Node){
			"json":  func(n ast.Node) { c.JSON = p.str(n, "json") },
			"regex": func(n ast.Node) { c.Regex = p.str(n, "regex") },
		})
		if p.err == nil && (c.JSON == "") == (c.Regex == "") {
			p.fail(mv.Value, "capture %s: give one of json (a field path such as id or data.id) or regex (its first group is the value)", name)
		}
		out = append(out, c)
	}
	return out
}

// fields dispatches a mapping's keys to their handlers; any other key, or
// one given twice, is an error.
func (p *reader) fields(m *ast.MappingNode, what string, handlers map[string]func(ast.Node)) {
	seen := map[string]bool{}
	for _, mv := range m.Values {
		if p.err != nil {
			return
		}
		k := p.str(mv.Key, "a key")
		h, ok := handlers[k]
		if !ok {
			known := slices.Sorted(maps.Keys(handlers))
			if what == "a request" || what == "a flow step" {
				known = slices.DeleteFunc(slices.Clone(requestKeys), func(s string) bool { _, ok := handlers[s]; return !ok })
			}
			p.fail(mv.Key, "unknown key %q in %s (known: %s)", k, what, strings.Join(known, ", "))
			return
		}
		if seen[k] {
			p.fail(mv.Key, "%s given twice in %s", k, what)
			return
		}
		seen[k] = true
		h(mv.Value)
	}
}

// unwrap refuses the YAML features a scenario has no use for, so what is
// read is what is written.
func (p *reader) unwrap(n ast.Node) ast.Node {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode, *ast.MergeKeyNode, *ast.MappingKeyNode:
		p.fail(n, "anchors, aliases, tags and complex keys are not supported in a scenario")
		return nil
	}
	return n
}

func kind(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "a number"
	case *ast.FloatNode:
		return "a decimal number"
	case *ast.BoolNode:
		return "a boolean"
	}
	return strings.ToLower(n.Type().String())
}

func (p *reader) mapping(n ast.Node, what string) *ast.MappingNode {
	if n = p.unwrap(n); n == nil {
		return nil
	}
	switch m := n.(type) {
	case *ast.MappingNode:
		return m
	case *ast.MappingValueNode:
		// A mapping of one key may come as its single value node.
		return &ast.MappingNode{BaseNode: m.BaseNode, Start: m.GetToken(), Values: []*ast.MappingValueNode{m}}
	}
	p.fail(n, "%s: want a mapping of keys to values, got %s", what, kind(n))
	return nil
}

func (p *reader) seq(n ast.Node, what string) []ast.Node {
	if n = p.unwrap(n); n == nil {
		return nil
	}
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		p.fail(n, "%s: want a list (lines starting with -), got %s", what, kind(n))
		return nil
	}
	return s.Values
}

func (p *reader) str(n ast.Node, what string) string {
	if n = p.unwrap(n); n == nil {
		return ""
	}
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return n.GetToken().Value
	}
	hint := ""
	if _, ok := n.(*ast.MappingNode); ok && what == "body" {
		hint = " (quote a JSON body: body: '{\"name\": \"x\"}')"
	}
	p.fail(n, "%s: want a string, got %s%s", what, kind(n), hint)
	return ""
}

func (p *reader) name(n ast.Node) string {
	s := p.str(n, "name")
	if p.err == nil && (s == "" || strings.ContainsAny(s, "/\r\n")) {
		p.fail(n, "name %q: want a non-empty name without / or line breaks", s)
	}
	return s
}

func (p *reader) int(n ast.Node, what string) (int64, bool) {
	if n = p.unwrap(n); n == nil {
		return 0, false
	}
	v, ok := n.(*ast.IntegerNode)
	if !ok {
		p.fail(n, "%s: want a whole number, got %s", what, kind(n))
		return 0, false
	}
	switch x := v.Value.(type) {
	case int64:
		return x, true
	case uint64:
		if x < 1<<62 {
			return int64(x), true
		}
	}
	p.fail(n, "%s: %s is too large", what, v.GetToken().Value)
	return 0, false
}

func (p *reader) weight(n ast.Node) int {
	w, ok := p.int(n, "weight")
	if !ok {
		return 1
	}
	if w < 1 || w > 1_000_000 {
		p.fail(n, "weight %d: want a whole number from 1 to 1000000 (leave it out for 1)", w)
		return 1
	}
	return int(w)
}

func (p *reader) expect(n ast.Node) []int {
	one := func(n ast.Node) int {
		c, ok := p.int(n, "expect")
		if ok && (c < 100 || c > 599) {
			p.fail(n, "expect %d: want an HTTP status from 100 to 599", c)
		}
		return int(c)
	}
	if s, ok := n.(*ast.SequenceNode); ok {
		if len(s.Values) == 0 {
			p.fail(n, "expect: an empty list; leave expect out to accept any 2xx")
		}
		var out []int
		for _, e := range s.Values {
			out = append(out, one(e))
		}
		return out
	}
	return []int{one(n)}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
