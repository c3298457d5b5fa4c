package load

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Template is one kind of request in a scenario mix. Path, header values
// and Body may hold variables (see the package documentation).
//
// A Template with Steps is a flow instead: when the mix picks it, its steps
// are sent in order on one connection, each after the previous one's
// response, and a step may use the values earlier steps captured
// ({var:NAME}). A flow's own Method, Path, Header, Body, Expect and Capture
// are unused.
type Template struct {
	Name   string
	Weight int // relative frequency in the mix; 0 counts as 1
	Method string
	Path   string   // origin form, "/items/{rand:1:10000}?q=1"
	Header []string // "Name: value"
	Body   string
	// Expect lists the statuses that answer the request as intended; a
	// response with another status counts as Errors.Unexpected. Empty: any
	// 2xx, and another status counts as Errors.Status, as before scenarios.
	Expect []int
	// Capture takes values from the response for the later steps of the
	// same flow; only flow steps capture.
	Capture []Capture
	Steps   []Template
}

// Capture takes one value from a response body: JSON, a dotted field path
// ("id", "data.items.0.id"), or Regex, whose first group is the value.
// Exactly one of them is set.
type Capture struct {
	Var   string
	JSON  string
	Regex string
}

// A segment of a path, the headers or a body: literal text, or a variable
// rendered per request.
type segment struct {
	lit    string
	kind   uint8 // segLit, segRand, segSeq, segChoice or segVar
	lo, hi int64 // segRand bounds, inclusive
	opts   []string
	slot   int  // segVar: the flow's captured value
	escape bool // segVar in a path: percent-encoded
	name   string
}

const (
	segLit uint8 = iota
	segRand
	segSeq
	segChoice
	segVar
)

// compiled is a Template ready for the hot path: everything that does not
// change between requests is serialized once.
type compiled struct {
	name string
	head bool // a HEAD request: its response has no body
	// idempotent requests may be sent again when a reused connection
	// fails before any byte of their response (RFC 9110 §9.2.2).
	idempotent bool

	// static is the whole request when nothing in it varies.
	static []byte

	// Otherwise: method and the space, the path segments, then the prefix
	// segments up to and including the Host and user headers; then either
	// fixedTail (the framing headers, blank line and body) or the body
	// segments.
	method      []byte
	path        []segment
	prefix      []segment
	fixedTail   []byte
	body        []segment
	bodyVarying bool

	expect   []int      // nil: any 2xx
	captures []capturer // flow steps only
	step     bool       // a step of a flow: its outcome moves the flow on
	last     bool       // the flow's last step

	// flow is set on a mix entry that starts a flow.
	flow *flowDef
}

// flowDef is a compiled flow: its steps and how many captured values an
// instance of it holds.
type flowDef struct {
	name  string
	steps []*compiled
	nvars int
}

// vars is the per-connection state variables draw on.
type vars struct {
	rng *rand.Rand
	seq *atomic.Int64 // shared by the run so {seq} is unique across connections
	// vals are the values captured so far by the flow instance running on
	// the connection, by slot.
	vals [][]byte
}

// parseSegments splits s into literal text and variables, with no
// captured values in scope.
func parseSegments(s string) ([]segment, error) { return parseVars(s, nil) }

// VarNameOK reports whether name may name a captured value: a letter or
// underscore, then letters, digits and underscores (package scenario
// checks files by the same rule).
func VarNameOK(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parseVars splits s into literal text and variables. Only "{rand:",
// "{seq}", "{choice:" and "{var:" start a variable, so JSON bodies and other
// braces pass through unchanged; a malformed variable is an error rather
// than literal text, so a typo is not sent silently. slot resolves a
// {var:NAME} to the flow's value slot; nil means no value is in scope.
func parseVars(s string, slot func(name string) (int, error)) ([]segment, error) {
	var segs []segment
	lit := func(t string) {
		if t != "" {
			segs = append(segs, segment{lit: t})
		}
	}
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			lit(s)
			return segs, nil
		}
		rest := s[i:]
		var kind string
		for _, k := range [...]string{"{rand:", "{choice:", "{var:", "{seq}"} {
			if strings.HasPrefix(rest, k) {
				kind = k
				break
			}
		}
		if kind == "" {
			lit(s[:i+1])
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return nil, fmt.Errorf("unterminated variable %q", rest)
		}
		v := rest[:end+1]
		spec := rest[min(len(kind), end):end]
		var sg segment
		switch kind {
		case "{seq}":
			sg.kind = segSeq
		case "{rand:":
			los, his, ok := strings.Cut(spec, ":")
			lo, err1 := strconv.ParseInt(los, 10, 64)
			hi, err2 := strconv.ParseInt(his, 10, 64)
			if !ok || err1 != nil || err2 != nil || lo > hi {
				return nil, fmt.Errorf("bad variable %q: want {rand:LO:HI} with integers LO <= HI", v)
			}
			sg = segment{kind: segRand, lo: lo, hi: hi}
		case "{choice:":
			opts := strings.Split(spec, "|")
			for _, o := range opts {
				if o == "" || strings.ContainsRune(o, '{') {
					return nil, fmt.Errorf("bad variable %q: want {choice:A|B|...} with no empty choice", v)
				}
			}
			sg = segment{kind: segChoice, opts: opts}
		case "{var:":
			if !VarNameOK(spec) {
				return nil, fmt.Errorf("bad variable %q: want {var:NAME} with a name of letters, digits and _", v)
			}
			if slot == nil {
				return nil, fmt.Errorf("%s outside a flow: only a flow's steps can use captured values", v)
			}
			n, err := slot(spec)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			sg = segment{kind: segVar, slot: n, name: spec}
		}
		lit(s[:i])
		segs = append(segs, sg)
		s = rest[end+1:]
	}
}

// TemplateVars checks the variables of a path, header value or body and
// returns the names of the captured values it uses ({var:NAME}), in order,
// so a scenario file can be checked before it is run.
func TemplateVars(s string) ([]string, error) {
	var names []string
	_, err := parseVars(s, func(name string) (int, error) {
		names = append(names, name)
		return 0, nil
	})
	return names, err
}

func varying(segs []segment) bool {
	for _, sg := range segs {
		if sg.kind != segLit {
			return true
		}
	}
	return false
}

func appendSegments(dst []byte, segs []segment, v *vars) []byte {
	for i := range segs {
		sg := &segs[i]
		switch sg.kind {
		case segLit:
			dst = append(dst, sg.lit...)
		case segRand:
			n := sg.lo
			if span := uint64(sg.hi - sg.lo); span != 0 {
				if span == ^uint64(0) {
					n = int64(v.rng.Uint64())
				} else {
					n += int64(v.rng.Uint64N(span + 1))
				}
			}
			dst = strconv.AppendInt(dst, n, 10)
		case segSeq:
			dst = strconv.AppendInt(dst, v.seq.Add(1), 10)
		case segChoice:
			dst = append(dst, sg.opts[v.rng.IntN(len(sg.opts))]...)
		case segVar:
			var val []byte
			if sg.slot < len(v.vals) {
				val = v.vals[sg.slot]
			}
			if sg.escape {
				dst = appendPathEscaped(dst, val)
			} else {
				dst = append(dst, val...)
			}
		}
	}
	return dst
}

// appendPathEscaped percent-encodes what may not stand in a path segment,
// so a captured "a b/c" stays one segment.
func appendPathEscaped(dst, val []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range val {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0 {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// IsToken reports whether s is an HTTP token (RFC 9110 §5.6.2): what a
// method or a header name must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func hasCTL(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// methodWithBody reports whether an empty body should still be framed with
// "Content-Length: 0", as clients do for these methods.
func methodWithBody(m string) bool {
	return m == "POST" || m == "PUT" || m == "PATCH"
}

// compile validates t and serializes its fixed parts. host is the Host header
// value, used unless t sets its own. slot resolves the captured values a
// flow step may use; nil for a request outside a flow.
func compile(t Template, host string, slot func(string) (int, error)) (*compiled, error) {
	name := t.Name
	if name == "" {
		name = t.Method + " " + t.Path
	}
	method := t.Method
	if method == "" {
		method = "GET"
	}
	if !IsToken(method) {
		return nil, fmt.Errorf("template %q: invalid method %q", name, method)
	}
	if t.Weight < 0 {
		return nil, fmt.Errorf("template %q: negative weight %d", name, t.Weight)
	}
	if len(t.Steps) > 0 {
		return nil, fmt.Errorf("template %q: a flow cannot be a step of a flow", name)
	}
	for _, code := range t.Expect {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("template %q: expected status %d is not an HTTP status", name, code)
		}
	}
	path := t.Path
	if path == "" {
		path = "/"
	}
	if path[0] != '/' || strings.ContainsAny(path, " \t") || hasCTL(path) {
		return nil, fmt.Errorf("template %q: path %q must start with / and hold no spaces or control characters", name, path)
	}
	pathSegs, err := parseVars(path, slot)
	if err != nil {
		return nil, fmt.Errorf("template %q: path: %w", name, err)
	}
	for i := range pathSegs {
		if pathSegs[i].kind == segVar {
			pathSegs[i].escape = true
		}
		for _, o := range pathSegs[i].opts {
			if strings.ContainsAny(o, " ?#") {
				return nil, fmt.Errorf("template %q: path: choice %q holds a space, ? or #", name, o)
			}
		}
	}
	bodySegs, err := parseVars(t.Body, slot)
	if err != nil {
		return nil, fmt.Errorf("template %q: body: %w", name, err)
	}

	var hdr strings.Builder
	hostSet := false
	for _, h := range t.Header {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !IsToken(k) || hasCTL(v) {
			return nil, fmt.Errorf("template %q: header %q: want \"Name: value\"", name, h)
		}
		switch strings.ToLower(k) {
		case "host":
			hostSet = true
		case "content-length", "transfer-encoding":
			return nil, fmt.Errorf("template %q: header %q: the body framing is set from the body", name, k)
		}
		if _, err := parseVars(v, slot); err != nil {
			return nil, fmt.Errorf("template %q: header %s: %w", name, k, err)
		}
		hdr.WriteString(k + ": " + v + "\r\n")
	}
	prefix := " HTTP/1.1\r\n"
	if !hostSet {
		if host == "" || hasCTL(host) || strings.ContainsAny(host, " \t") {
			return nil, fmt.Errorf("invalid Host %q", host)
		}
		prefix += "Host: " + host + "\r\n"
	}
	prefix += hdr.String()
	prefixSegs, err := parseVars(prefix, slot)
	if err != nil {
		return nil, fmt.Errorf("template %q: headers: %w", name, err)
	}

	c := &compiled{
		name:        name,
		head:        method == "HEAD",
		idempotent:  idempotentMethod(method),
		method:      []byte(method + " "),
		path:        pathSegs,
		prefix:      prefixSegs,
		body:        bodySegs,
		bodyVarying: varying(bodySegs),
	}
	if len(t.Expect) > 0 {
		c.expect = append([]int(nil), t.Expect...)
	}
	if len(t.Capture) > 0 && slot == nil {
		return nil, fmt.Errorf("template %q: only a flow's steps capture values", name)
	}
	for _, cp := range t.Capture {
		k, err := newCapturer(cp)
		if err != nil {
			return nil, fmt.Errorf("template %q: capture %s: %w", name, cp.Var, err)
		}
		c.captures = append(c.captures, k)
	}
	if !c.bodyVarying {
		var tail []byte
		body := t.Body
		if body != "" || methodWithBody(method) {
			tail = append(tail, "Content-Length: "+strconv.Itoa(len(body))+"\r\n"...)
		}
		tail = append(tail, "\r\n"+body...)
		c.fixedTail = tail
		if !varying(pathSegs) && !varying(prefixSegs) {
			c.static = append(append(append(append([]byte(nil), c.method...), path...), prefix...), tail...)
		}
	}
	return c, nil
}

// compileFlow compiles a flow's steps, giving each captured value a slot
// and checking that every {var:NAME} was captured by an earlier step.
func compileFlow(t Template, host string) (*compiled, error) {
	name := t.Name
	if name == "" {
		return nil, fmt.Errorf("a flow needs a name")
	}
	if t.Weight < 0 {
		return nil, fmt.Errorf("flow %q: negative weight %d", name, t.Weight)
	}
	slots := map[string]int{}
	fd := &flowDef{name: name}
	for i, st := range t.Steps {
		captured := slots // values of earlier steps only
		c, err := compile(st, host, func(v string) (int, error) {
			n, ok := captured[v]
			if !ok {
				return 0, fmt.Errorf("used before any earlier step of the flow captures %s", v)
			}
			return n, nil
		})
		if err != nil {
			return nil, fmt.Errorf("flow %q step %d: %w", name, i+1, err)
		}
		c.name = name + "/" + c.name
		next := maps.Clone(slots)
		for j, cp := range st.Capture {
			n, ok := next[cp.Var]
			if !ok {
				n = len(next)
				next[cp.Var] = n
			}
			c.captures[j].slot = n
		}
		slots = next
		c.step = true
		c.last = i == len(t.Steps)-1
		fd.steps = append(fd.steps, c)
	}
	fd.nvars = len(slots)
	return &compiled{name: name, flow: fd}, nil
}

// idempotentMethod reports whether a request with this method may be
// repeated without changing the outcome (RFC 9110 §9.2.2), which is when
// net/http's Transport, and this generator, resend one that met a closed
// keep-alive connection.
func idempotentMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// appendRequest serializes one request. scratch holds a varying body while
// its length is measured; the grown scratch is returned for reuse.
func (c *compiled) appendRequest(dst, scratch []byte, v *vars) (out, scratchOut []byte) {
	if c.static != nil {
		return append(dst, c.static...), scratch
	}
	dst = append(dst, c.method...)
	dst = appendSegments(dst, c.path, v)
	dst = appendSegments(dst, c.prefix, v)
	if !c.bodyVarying {
		return append(dst, c.fixedTail...), scratch
	}
	scratch = appendSegments(scratch[:0], c.body, v)
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(scratch)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, scratch...), scratch
}

// expected reports whether status answers the request as intended: one of
// its expected statuses, or any 2xx when it names none.
func (c *compiled) expected(status int) bool {
	if c.expect == nil {
		return status >= 200 && status <= 299
	}
	return slices.Contains(c.expect, status)
}

// mix picks templates and flows by weight.
type mix struct {
	tmpl  []*compiled // a flow's entry has flow set
	cum   []int       // cumulative weights
	total int
	flows bool // some entry is a flow
}

func compileMix(ts []Template, host string) (*mix, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("no request templates")
	}
	m := &mix{}
	for _, t := range ts {
		var c *compiled
		var err error
		if len(t.Steps) > 0 {
			c, err = compileFlow(t, host)
			m.flows = true
		} else {
			c, err = compile(t, host, nil)
		}
		if err != nil {
			return nil, err
		}
		w := t.Weight
		if w == 0 {
			w = 1
		}
		m.total += w
		m.tmpl = append(m.tmpl, c)
		m.cum = append(m.cum, m.total)
	}
	return m, nil
}

func (m *mix) pick(rng *rand.Rand) *compiled {
	if len(m.tmpl) == 1 {
		return m.tmpl[0]
	}
	r := rng.IntN(m.total)
	for i, c := range m.cum {
		if r < c {
			return m.tmpl[i]
		}
	}
	return m.tmpl[len(m.tmpl)-1]
}

// RenderSample renders n requests from the mix as Run would send them on
// connection 0 for the given seed, so a scenario can be checked before it is
// run. A flow's steps are rendered in order; the values they would capture
// from a server's responses render as the values' names.
func RenderSample(mixTemplates []Template, host string, seed int64, n int) ([]string, error) {
	m, err := compileMix(mixTemplates, host)
	if err != nil {
		return nil, err
	}
	v := &vars{rng: connRNG(seed, 0), seq: new(atomic.Int64)}
	var out []string
	var buf, scratch []byte
	var steps []*compiled
	for len(out) < n {
		var t *compiled
		if len(steps) > 0 {
			t, steps = steps[0], steps[1:]
		} else if t = m.pick(v.rng); t.flow != nil {
			v.vals = v.vals[:0]
			for range t.flow.nvars {
				v.vals = append(v.vals, nil)
			}
			for _, st := range t.flow.steps {
				for _, cp := range st.captures {
					v.vals[cp.slot] = []byte(cp.name)
				}
			}
			t, steps = t.flow.steps[0], t.flow.steps[1:]
		}
		buf, scratch = t.appendRequest(buf[:0], scratch, v)
		out = append(out, string(buf))
	}
	return out, nil
}

// connRNG gives each connection its own reproducible stream for a seed.
func connRNG(seed int64, conn int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(conn)*0x9e3779b97f4a7c15+1))
}
