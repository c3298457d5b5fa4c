package load

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
)

// Template is one kind of request in a scenario mix. Path and Body may hold
// variables (see the package documentation): "{rand:LO:HI}" and "{seq}".
type Template struct {
	Name   string
	Weight int // relative frequency in the mix; 0 counts as 1
	Method string
	Path   string   // origin form, "/items/{rand:1:10000}?q=1"
	Header []string // "Name: value"
	Body   string
}

// A segment of a path or body: literal text, or a variable rendered per
// request.
type segment struct {
	lit    string
	kind   uint8 // segLit, segRand or segSeq
	lo, hi int64 // segRand bounds, inclusive
}

const (
	segLit uint8 = iota
	segRand
	segSeq
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

	// Otherwise: method and the space, the path segments, then prefix up to
	// and including the Host and user headers; then either fixedTail (the
	// framing headers, blank line and body) or the body segments.
	method      []byte
	path        []segment
	prefix      []byte
	fixedTail   []byte
	body        []segment
	bodyVarying bool
}

// vars is the per-connection state variables draw on.
type vars struct {
	rng *rand.Rand
	seq *atomic.Int64 // shared by the run so {seq} is unique across connections
}

// parseSegments splits s into literal text and variables. Only "{rand:" and
// "{seq}" start a variable, so JSON bodies and other braces pass through
// unchanged; a malformed variable is an error rather than literal text, so a
// typo is not sent silently.
func parseSegments(s string) ([]segment, error) {
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
		switch {
		case strings.HasPrefix(rest, "{seq}"):
			lit(s[:i])
			segs = append(segs, segment{kind: segSeq})
			s = rest[len("{seq}"):]
		case strings.HasPrefix(rest, "{rand:"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated variable %q", rest)
			}
			spec := rest[len("{rand:"):end]
			los, his, ok := strings.Cut(spec, ":")
			lo, err1 := strconv.ParseInt(los, 10, 64)
			hi, err2 := strconv.ParseInt(his, 10, 64)
			if !ok || err1 != nil || err2 != nil || lo > hi {
				return nil, fmt.Errorf("bad variable %q: want {rand:LO:HI} with integers LO <= HI", rest[:end+1])
			}
			lit(s[:i])
			segs = append(segs, segment{kind: segRand, lo: lo, hi: hi})
			s = rest[end+1:]
		default:
			lit(s[:i+1])
			s = s[i+1:]
		}
	}
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
		}
	}
	return dst
}

func isToken(s string) bool {
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
// value, used unless t sets its own.
func compile(t Template, host string) (*compiled, error) {
	name := t.Name
	if name == "" {
		name = t.Method + " " + t.Path
	}
	method := t.Method
	if method == "" {
		method = "GET"
	}
	if !isToken(method) {
		return nil, fmt.Errorf("template %q: invalid method %q", name, method)
	}
	if t.Weight < 0 {
		return nil, fmt.Errorf("template %q: negative weight %d", name, t.Weight)
	}
	path := t.Path
	if path == "" {
		path = "/"
	}
	if path[0] != '/' || strings.ContainsAny(path, " \t") || hasCTL(path) {
		return nil, fmt.Errorf("template %q: path %q must start with / and hold no spaces or control characters", name, path)
	}
	pathSegs, err := parseSegments(path)
	if err != nil {
		return nil, fmt.Errorf("template %q: path: %w", name, err)
	}
	bodySegs, err := parseSegments(t.Body)
	if err != nil {
		return nil, fmt.Errorf("template %q: body: %w", name, err)
	}

	var hdr strings.Builder
	hostSet := false
	for _, h := range t.Header {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !isToken(k) || hasCTL(v) {
			return nil, fmt.Errorf("template %q: header %q: want \"Name: value\"", name, h)
		}
		switch strings.ToLower(k) {
		case "host":
			hostSet = true
		case "content-length", "transfer-encoding":
			return nil, fmt.Errorf("template %q: header %q: the body framing is set from the body", name, k)
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

	c := &compiled{
		name:        name,
		head:        method == "HEAD",
		idempotent:  idempotentMethod(method),
		method:      []byte(method + " "),
		path:        pathSegs,
		prefix:      []byte(prefix),
		body:        bodySegs,
		bodyVarying: varying(bodySegs),
	}
	if !c.bodyVarying {
		var tail []byte
		body := t.Body
		if body != "" || methodWithBody(method) {
			tail = append(tail, "Content-Length: "+strconv.Itoa(len(body))+"\r\n"...)
		}
		tail = append(tail, "\r\n"+body...)
		c.fixedTail = tail
		if !varying(pathSegs) {
			c.static = append(append(append(append([]byte(nil), c.method...), path...), c.prefix...), tail...)
		}
	}
	return c, nil
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
	dst = append(dst, c.prefix...)
	if !c.bodyVarying {
		return append(dst, c.fixedTail...), scratch
	}
	scratch = appendSegments(scratch[:0], c.body, v)
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(scratch)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, scratch...), scratch
}

// mix picks templates by weight.
type mix struct {
	tmpl  []*compiled
	cum   []int // cumulative weights
	total int
}

func compileMix(ts []Template, host string) (*mix, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("no request templates")
	}
	m := &mix{}
	for _, t := range ts {
		c, err := compile(t, host)
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
// run.
func RenderSample(mixTemplates []Template, host string, seed int64, n int) ([]string, error) {
	m, err := compileMix(mixTemplates, host)
	if err != nil {
		return nil, err
	}
	v := &vars{rng: connRNG(seed, 0), seq: new(atomic.Int64)}
	var out []string
	var buf, scratch []byte
	for range n {
		buf, scratch = m.pick(v.rng).appendRequest(buf[:0], scratch, v)
		out = append(out, string(buf))
	}
	return out, nil
}

// connRNG gives each connection its own reproducible stream for a seed.
func connRNG(seed int64, conn int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(conn)*0x9e3779b97f4a7c15+1))
}
