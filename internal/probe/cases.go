package probe

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cases lists every probe, in the order they run: plain HTTP first, so a
// server's basic behaviour is on record before the malformed requests.
func Cases() []Case {
	return []Case{
		// HTTP/1.1
		{"keep-alive", HTTP, "keeps an HTTP/1.1 connection open across requests", "RFC 9112 §9.3", checkKeepAlive},
		{"pipelining", HTTP, "answers pipelined requests, in order", "RFC 9112 §9.3.2", checkPipelining},
		{"chunked-request", HTTP, "reads a chunked request body", "RFC 9112 §7.1", checkChunked("5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world")},
		{"chunk-extension", HTTP, "reads a chunked body whose chunks carry extensions", "RFC 9112 §7.1.1", checkChunked("5;name=value\r\nhello\r\n6;x\r\n world\r\n0\r\n\r\n", "hello world")},
		{"chunked-trailer", HTTP, "reads a chunked body with a trailer and keeps the connection usable", "RFC 9112 §7.1.2", checkTrailer},
		{"expect-100", HTTP, "answers Expect: 100-continue with 100 Continue before the body", "RFC 9110 §10.1.1", checkExpect},
		{"head", HTTP, "sends no body after a HEAD response", "RFC 9110 §9.3.2", checkHead},
		{"response-framing", HTTP, "frames a response the app gave no length (chunked or close)", "RFC 9112 §6.3", checkNoLength},
		{"http10-client", HTTP, "sends no chunked response to an HTTP/1.0 client", "RFC 9112 §6.1", checkHTTP10},
		{"absolute-form", HTTP, "accepts an absolute-form request target", "RFC 9112 §3.2.2", checkAbsoluteForm},
		{"missing-host", HTTP, "rejects an HTTP/1.1 request without Host with 400", "RFC 9112 §3.2", checkMissingHost},
		{"garbage", HTTP, "answers bytes that are not HTTP (a TLS hello) with 400 or a close", "RFC 9112 §2.2", checkGarbage},
		{"header-without-colon", HTTP, "rejects a header line without a colon", "RFC 9112 §5", checkNoColon},
		{"huge-header", HTTP, "limits header size (64 KiB value: 431 or 400)", "RFC 6585 §5", checkBigHeaders(1, 64<<10)},
		{"many-headers", HTTP, "limits the number of headers (2,000: 431 or 400)", "RFC 6585 §5", checkBigHeaders(2000, 8)},

		// Smuggling and spoofing
		{"cl-and-te", Smuggling, "with both Content-Length and chunked, reads chunked (or rejects) and never serves the rest as a request", "RFC 9112 §6.3", checkCLTE},
		{"te-space-before-colon", Smuggling, "rejects whitespace between a header name and its colon", "RFC 9112 §5.1", checkTEVariant("Transfer-Encoding : chunked", true)},
		{"te-unknown", Smuggling, "rejects a transfer coding it does not know (501) rather than guess", "RFC 9112 §6.1", checkTEVariant("Transfer-Encoding: xchunked", false)},
		{"cl-duplicate", Smuggling, "rejects two different Content-Lengths", "RFC 9112 §6.3", checkDuplicateCL},
		{"cl-sign", Smuggling, "rejects Content-Length: +N", "RFC 9110 §8.6", checkCLSyntax("+5")},
		{"chunk-size-0x", Smuggling, "rejects a chunk size written 0x5", "RFC 9112 §7.1", checkChunkSize("0x5")},
		{"unread-body", Smuggling, "discards a body the app did not read, never parsing it as a request", "RFC 9112 §9.3", checkUnreadBody},
		{"obs-fold", Smuggling, "rejects a folded header line, or unfolds it with a space", "RFC 9112 §5.2", checkObsFold},
		{"nul-in-header", Smuggling, "rejects a header value holding NUL, or replaces it", "RFC 9110 §5.5", checkBadByte("\x00")},
		{"cr-in-header", Smuggling, "rejects a header value holding a bare CR, or replaces it", "RFC 9110 §5.5", checkBadByte("\r")},
		{"underscore-header", Smuggling, "does not let X_Forwarded_For reach the app as X-Forwarded-For", "PEP 3333 / CGI", checkUnderscore},

		// Parser flaws found by differential fuzzing (HTTP Garden) and
		// the 2022-2025 advisories of the Python servers: parsing.go.
		{"te-chunked-twice", Smuggling, "refuses Transfer-Encoding: chunked, chunked (beside a Content-Length) and never frames by the length", "RFC 9112 §6.1, §6.3; GHSA-753j-mpmx-qq6g (tornado); CVE-2024-1135 (gunicorn)", checkTEList("Transfer-Encoding: chunked, chunked\r\n")},
		{"te-gzip-chunked", Smuggling, "answers Transfer-Encoding: gzip, chunked with 501 (or reads it as chunked), never by Content-Length", "RFC 9112 §6.1, §6.3; CVE-2024-6827 (gunicorn)", checkTEList("Transfer-Encoding: gzip, chunked\r\n")},
		{"te-two-lines", Smuggling, "refuses two Transfer-Encoding: chunked lines, or reads the body as chunked once", "RFC 9110 §5.3, RFC 9112 §6.1; GHSA-753j-mpmx-qq6g (tornado)", checkTETwice},
		{"te-nbsp", Smuggling, "does not take Transfer-Encoding: \\xa0chunked as chunked", "RFC 9110 §5.6.3 (OWS is SP/HTAB); benoitc/gunicorn#3364 (HTTP Garden)", checkTEVariant("Transfer-Encoding: \xa0chunked", false)},
		{"cl-space-before-colon", Smuggling, "rejects whitespace between Content-Length and its colon", "RFC 9112 §5.1; cherrypy/cheroot#714 (HTTP Garden)", checkCLName("Content-Length : %d")},
		{"cl-plus-underscore", Smuggling, "rejects Content-Length: +1_0 (Python's int() reads 10)", "RFC 9110 §8.6; GHSA-qppv-j76h-2rpx (tornado); CVE-2022-24761 (waitress); CVE-2022-24801 (twisted)", checkCLValue("+1_0", "0123456789", -1)},
		{"cl-leading-zeros", Smuggling, "reads Content-Length: 010 as ten decimal bytes, not octal", "RFC 9110 §8.6 (1*DIGIT, decimal; C strtol base 0 reads octal)", checkCLValue("010", "0123456789", 10)},
		{"chunk-size-underscore", Smuggling, "rejects a chunk size written 0_5", "RFC 9112 §7.1 (1*HEXDIG); GHSA-qppv-j76h-2rpx (tornado)", checkChunkSize("0_5")},
		{"chunk-size-sign", Smuggling, "rejects a chunk size written +5", "RFC 9112 §7.1; CVE-2022-24761 (waitress); GHSA-qppv-j76h-2rpx (tornado)", checkChunkSize("+5")},
		{"chunk-size-space", Smuggling, "rejects a chunk size with whitespace before it", "RFC 9112 §7.1; CVE-2022-24801 (twisted)", checkChunkSize(" 5")},
		{"chunk-size-overflow", Smuggling, "rejects a chunk size past 64 bits (2^64+5) instead of wrapping it to 5", "RFC 9112 §7.1; oven-sh/bun#26931 (truncated sizes smuggle)", checkChunkSize("10000000000000005")},
		{"chunk-lf", Smuggling, "rejects chunk-size lines ended by a bare LF", "RFC 9112 §7.1, §2.2; CVE-2025-22871 (Go)", checkChunkLF},
		{"chunk-data-terminator", Smuggling, "rejects chunk data followed by two bytes other than CRLF", "RFC 9112 §7.1; CVE-2025-43859 (h11)", checkChunkTerminator},
		{"trailer-smuggle", Smuggling, "never serves a request hidden in the chunked trailer section", "RFC 9112 §7.1.2; CVE-2023-41419 (gevent); CVE-2025-58068 (eventlet)", checkTrailerSmuggle},
		{"cr-splits-header", Smuggling, "does not split a header value at a bare CR into a second header", "RFC 9112 §2.2; python/cpython#114782 (HTTP Garden)", checkCRSplit},
		{"header-name-x85", Smuggling, "rejects a header name ending in \\x85, and never strips it", "RFC 9110 §5.1; benoitc/gunicorn#3091 (HTTP Garden)", checkNameByte("\x85")},
		{"version-1-10", Smuggling, "rejects the request line version HTTP/1.10", "RFC 9112 §2.3, §3; netty/netty#14186 (HTTP Garden)", checkRequestLine("GET /probe/echo HTTP/1.10")},
		{"nul-method", Smuggling, "rejects a method holding NUL", "RFC 9110 §9.1 (token), RFC 9112 §3", checkRequestLine("G\x00T /probe/echo HTTP/1.1")},
		{"pipeline-then-invalid", Smuggling, "answers a valid request even when an invalid one is pipelined after it", "RFC 9112 §9.3.2", checkPipelineInvalidAfter},
		{"pipeline-after-error", Smuggling, "after refusing a request it cannot frame, serves nothing more on that connection", "RFC 9112 §6.3, §9.3; CVE-2024-49768 (waitress)", checkPipelineAfterError},

		// PEP 3333
		{"environ", WSGI, "builds an environ with every required key, of the required types", "PEP 3333 environ", checkEnviron},
		{"path-latin1", WSGI, "decodes PATH_INFO bytes as latin-1", "PEP 3333 unicode", checkPathLatin1},
		{"query-raw", WSGI, "passes QUERY_STRING undecoded", "PEP 3333 / CGI", checkQuery},
		{"read-past-length", WSGI, "ends wsgi.input at Content-Length instead of blocking", "PEP 3333 input", checkReadMore},
		{"readline", WSGI, "reads wsgi.input line by line", "PEP 3333 input", checkReadline},
		{"write-callable", WSGI, "supports the write() callable of start_response", "PEP 3333 write", checkWrite},
		{"iterable-close", WSGI, "calls close() on the response iterable", "PEP 3333 close", checkClose},
		{"app-error", WSGI, "answers 500 when the app raises before responding", "PEP 3333 errors", checkAppError},
		{"error-after-headers", WSGI, "does not mark a response the app failed in mid-body as complete", "PEP 3333 errors", checkErrorAfter},
	}
}

const host = "Host: probe\r\n"

func get(path string) string { return "GET " + path + " HTTP/1.1\r\n" + host + "\r\n" }

func post(path, headers, body string) string {
	return "POST " + path + " HTTP/1.1\r\n" + host + headers + "\r\n" + body
}

// quiet is how long to watch for a second response (a smuggled one) or a
// close: a loopback server that parses leftover bytes does so at once.
const quiet = 300 * time.Millisecond

// once sends raw on a new connection and reads one response to method.
func (t *target) once(ctx context.Context, raw, method string) (*conn, *response, error) {
	c, err := t.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := c.send(raw); err != nil {
		c.close()
		return nil, nil, err
	}
	r, err := c.read(method, 0)
	if err != nil {
		c.close()
		return nil, nil, err
	}
	return c, r, nil
}

// echoOnce sends raw on a new connection and reads /probe/echo's report
// of what the app saw.
func (t *target) echoOnce(ctx context.Context, raw, method string) (*echo, error) {
	c, r, err := t.once(ctx, raw, method)
	if err != nil {
		return nil, err
	}
	c.close()
	return parseEcho(r)
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func checkKeepAlive(ctx context.Context, t *target) (Outcome, string) {
	c, err := t.dial(ctx)
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	for i := 1; i <= 3; i++ {
		if err := c.send(get(fmt.Sprintf("/probe/echo/%d", i))); err != nil {
			return Fail, fmt.Sprintf("request %d: %v", i, err)
		}
		r, err := c.read("GET", 0)
		if err != nil {
			return Fail, fmt.Sprintf("request %d: %v", i, err)
		}
		if r.status != 200 {
			return Fail, fmt.Sprintf("request %d: status %s", i, r)
		}
		if r.closes() {
			return Warn, fmt.Sprintf("closes the connection after every response (Connection: close after request %d): legal, but each request costs a new connection, so it wants a buffering proxy in front", i)
		}
	}
	if s := c.after(quiet); s != open {
		return Fail, fmt.Sprintf("after 3 requests the connection was %s without Connection: close", s)
	}
	return Pass, "3 requests on one connection"
}

func checkPipelining(ctx context.Context, t *target) (Outcome, string) {
	c, err := t.dial(ctx)
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if err := c.send(get("/probe/echo/1") + get("/probe/echo/2") + get("/probe/echo/3")); err != nil {
		return Fail, err.Error()
	}
	for i := 1; i <= 3; i++ {
		r, err := c.read("GET", 0)
		switch {
		case err != nil && i > 1 && errors.Is(err, errClosed):
			return Warn, fmt.Sprintf("answered %d of 3 requests sent at once, then closed the connection without saying so: legal, but the client must notice and resend the rest", i-1)
		case err != nil && i > 1 && errors.Is(err, errTimeout):
			return Fail, fmt.Sprintf("answered %d of 3 requests sent at once and left the rest unanswered on an open connection", i-1)
		case err != nil:
			return Fail, fmt.Sprintf("response %d of 3 sent at once: %v", i, err)
		}
		e, err := parseEcho(r)
		if err != nil {
			return Fail, fmt.Sprintf("response %d: %v", i, err)
		}
		if want := fmt.Sprintf("/probe/echo/%d", i); e.PathInfo != want {
			return Fail, fmt.Sprintf("response %d answers %s: out of order", i, e.PathInfo)
		}
		if r.closes() && i < 3 {
			return Warn, fmt.Sprintf("answers %d of 3 pipelined requests, then closes (Connection: close): legal, the client must resend the rest", i)
		}
	}
	return Pass, "3 requests sent at once, 3 responses in order"
}

func checkChunked(wire, want string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		c, r, err := t.once(ctx, post("/probe/echo", "Transfer-Encoding: chunked\r\n", wire), "POST")
		if err != nil {
			return Fail, err.Error()
		}
		defer c.close()
		return judgeBody(r, want)
	}
}

// judgeBody: did the app see exactly want as the request body?
func judgeBody(r *response, want string) (Outcome, string) {
	if r.status == 411 {
		return Fail, "refused the chunked body with 411 Length Required: clients that stream uploads cannot reach the app"
	}
	if r.status == 400 || r.status == 501 || r.status == 413 {
		return Fail, fmt.Sprintf("refused the body with %s", r)
	}
	e, err := parseEcho(r)
	if err != nil {
		return Fail, err.Error()
	}
	if e.BodySHA256 != sum(want) {
		return Fail, fmt.Sprintf("the app read %d bytes, not the %d sent", e.BodyLen, len(want))
	}
	return Pass, fmt.Sprintf("the app read the %d-byte body", len(want))
}

func checkTrailer(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, post("/probe/echo", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"), "POST")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if o, d := judgeBody(r, "hello"); o != Pass {
		return o, d
	}
	if r.closes() {
		return Pass, "read the body; closed the connection after it"
	}
	if err := c.send(get("/probe/echo/next")); err != nil {
		return Fail, "the connection broke after the trailer: " + err.Error()
	}
	r2, err := c.read("GET", 0)
	if err != nil {
		return Fail, "the next request on the connection: " + err.Error()
	}
	if e, err := parseEcho(r2); err != nil || e.PathInfo != "/probe/echo/next" {
		return Fail, fmt.Sprintf("the next request on the connection was answered %s: the trailer was not consumed", r2)
	}
	return Pass, "read the body and the trailer; the next request was served"
}

func checkExpect(ctx context.Context, t *target) (Outcome, string) {
	c, err := t.dial(ctx)
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	body := "hello world"
	if err := c.send(post("/probe/echo", fmt.Sprintf("Expect: 100-continue\r\nContent-Length: %d\r\n", len(body)), "")); err != nil {
		return Fail, err.Error()
	}
	// Clients wait about a second for the 100 (curl: 1 s) before sending
	// the body anyway.
	r, err := c.read("POST", time.Second)
	interim := false
	switch {
	case errors.Is(err, errTimeout):
	case err != nil:
		return Fail, "while the client waited for 100 Continue: " + err.Error()
	case r.status == 100:
		interim = true
	case r.status == 417:
		return Warn, "refuses the expectation with 417: a client must resend without it"
	default:
		// A final answer before the body: legal only if it did not
		// need the body, which echo does.
		return Fail, fmt.Sprintf("answered %s before the body was sent", r)
	}
	if err := c.send(body); err != nil {
		return Fail, "sending the body: " + err.Error()
	}
	late := false
	for {
		r, err = c.read("POST", 0)
		if err != nil {
			return Fail, "after the body: " + err.Error()
		}
		if r.status >= 200 {
			break
		}
		late = true // a 1xx after the body: harmless, and too late
	}
	if o, d := judgeBody(r, body); o != Pass {
		return o, d
	}
	if late && !interim {
		return Warn, "sent 100 Continue only after the body had arrived: a client that asks for one waits (curl: 1 s) before sending its body"
	}
	if !interim {
		return Warn, "sends no 100 Continue: a client that asks for one waits (curl: 1 s) before sending its body"
	}
	return Pass, "sent 100 Continue, then read the body"
}

func checkHead(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, "HEAD /probe/echo HTTP/1.1\r\n"+host+"\r\n", "HEAD")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.status != 200 {
		return Fail, fmt.Sprintf("HEAD answered %s", r)
	}
	if s := c.after(quiet); s == extra {
		if r.closes() {
			return Warn, "sent the app's body after the HEAD response, then closed the connection: harmless here, but a violation"
		}
		return Fail, "sent the app's body after the HEAD response on a kept-alive connection: the client reads it as the start of the next response"
	}
	return Pass, "no body after HEAD"
}

const noLengthBody = "part-0;part-1;part-2;part-3;part-4;part-5;part-6;part-7;part-8;part-9;"

func checkNoLength(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, get("/probe/nolength"), "GET")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.bodyErr != nil || string(r.body) != noLengthBody {
		return Fail, fmt.Sprintf("the body arrived as %d of %d bytes (%v)", len(r.body), len(noLengthBody), r.bodyErr)
	}
	if r.chunked {
		return Pass, "chunked"
	}
	return Pass, "delimited by closing the connection"
}

func checkHTTP10(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, "GET /probe/nolength HTTP/1.0\r\n"+host+"\r\n", "GET")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.chunked {
		return Fail, "answered an HTTP/1.0 client with a chunked body, which it cannot read"
	}
	if string(r.body) != noLengthBody {
		return Fail, fmt.Sprintf("the body arrived as %d of %d bytes", len(r.body), len(noLengthBody))
	}
	return Pass, "not chunked"
}

func checkAbsoluteForm(ctx context.Context, t *target) (Outcome, string) {
	raw := fmt.Sprintf("GET http://%s/probe/echo?x=1 HTTP/1.1\r\nHost: %s\r\n\r\n", t.addr, t.addr)
	c, r, err := t.once(ctx, raw, "GET")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.status >= 400 && r.status < 500 {
		return Warn, fmt.Sprintf("refused it with %d: a client that sends the full URL (as to a proxy) is turned away; proxies in front send the path only", r.status)
	}
	e, err := parseEcho(r)
	if err != nil {
		return Fail, err.Error()
	}
	if e.PathInfo != "/probe/echo" || e.QueryString != "x=1" {
		return Warn, fmt.Sprintf("the app saw PATH_INFO %q and QUERY_STRING %q: a client that sends the full URL (as to a proxy) reaches the wrong route; proxies in front send the path only", e.PathInfo, e.QueryString)
	}
	return Pass, "PATH_INFO /probe/echo"
}

func checkMissingHost(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, "GET /probe/echo HTTP/1.1\r\n\r\n", "GET")
	if err != nil {
		if errors.Is(err, errClosed) {
			return Pass, "closed the connection without an answer"
		}
		return Fail, err.Error()
	}
	defer c.close()
	switch {
	case r.status == 400:
		return Pass, "400"
	case r.status == 200:
		return Warn, "served it: harmless behind a proxy, which always sends Host"
	}
	return Fail, fmt.Sprintf("answered %s", r)
}

// rejected judges a request that must be refused: a 4xx, or a close
// without an answer. A 2xx means it was taken as valid, a 5xx that it
// broke something.
func rejected(r *response, err error) (Outcome, string) {
	switch {
	case errors.Is(err, errClosed):
		return Pass, "closed the connection without an answer"
	case errors.Is(err, errTimeout):
		return Warn, "no answer, connection held open: it waits for more and ties up a worker meanwhile"
	case err != nil:
		// Python's http.server answers a request line it takes for
		// HTTP/0.9 with a bare error page, no status line.
		return Warn, "answered with something that is not an HTTP/1.x response (" + err.Error() + ")"
	case r.smuggled():
		return Fail, "a request hidden in it reached the app"
	case r.status >= 400 && r.status < 500:
		return Pass, fmt.Sprintf("%d", r.status)
	case r.status >= 500:
		return Fail, fmt.Sprintf("answered %s: a server error instead of a client one", r)
	}
	return Fail, fmt.Sprintf("accepted it (%s)", r)
}

// rejectedOrWarn is rejected for a request whose serving is harmless
// enough to be a warning (saying why) rather than a failure.
func rejectedOrWarn(r *response, err error, served string) (Outcome, string) {
	o, d := rejected(r, err)
	if o == Fail && r != nil && r.status == 200 {
		return Warn, served
	}
	return o, d
}

func rawOnce(ctx context.Context, t *target, raw string) (*response, error) {
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := c.send(raw); err != nil {
		return nil, err
	}
	return c.read("GET", 0)
}

func checkGarbage(ctx context.Context, t *target) (Outcome, string) {
	// The first bytes of a TLS ClientHello: https:// to an http port.
	r, err := rawOnce(ctx, t, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"+strings.Repeat("\x00", 32)+"\r\n\r\n")
	return rejected(r, err)
}

func checkNoColon(ctx context.Context, t *target) (Outcome, string) {
	r, err := rawOnce(ctx, t, "GET /probe/echo HTTP/1.1\r\n"+host+"Not a header\r\n\r\n")
	return rejectedOrWarn(r, err, "ignored the malformed line and served the request (RFC 9112 asks for 400)")
}

func checkBigHeaders(n, size int) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		var b strings.Builder
		b.WriteString("GET /probe/echo HTTP/1.1\r\n" + host)
		for i := range n {
			fmt.Fprintf(&b, "X-Probe-%d: %s\r\n", i, strings.Repeat("a", size))
		}
		b.WriteString("\r\n")
		r, err := rawOnce(ctx, t, b.String())
		return rejectedOrWarn(r, err, "accepted it: no limit, so a client can make the server hold that much per request")
	}
}

// smuggle is a complete request hidden in a body: the app answers it
// SMUGGLED, so a server that serves it is caught.
const smuggle = "GET /probe/smuggled HTTP/1.1\r\n" + host + "\r\n"

// ambiguous sends a request whose framing is in doubt, then watches for a
// second response: one to the request hidden in its body.
func ambiguous(ctx context.Context, t *target, raw string) (first *response, second *response, after state, err error) {
	c, err := t.dial(ctx)
	if err != nil {
		return nil, nil, open, err
	}
	defer c.close()
	if err := c.send(raw); err != nil {
		return nil, nil, open, err
	}
	first, err = c.read("POST", 0)
	if err != nil {
		return nil, nil, open, err
	}
	if first.closes() {
		return first, nil, closed, nil
	}
	after = c.after(quiet)
	if after == extra {
		second, _ = c.read("GET", quiet)
	}
	return first, second, after, nil
}

func checkCLTE(ctx context.Context, t *target) (Outcome, string) {
	body := "0\r\n\r\n" + smuggle
	raw := post("/probe/echo", fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n", len(body)), body)
	first, second, after, err := ambiguous(ctx, t, raw)
	if err != nil {
		return rejected(nil, err)
	}
	if second.smuggled() || first.smuggled() {
		return Fail, "read the body as chunked, kept the connection open and served the bytes after it as a second request (RFC 9112 §6.3: close the connection after such a message): behind a proxy that frames by Content-Length, that is a smuggled request"
	}
	if first.status >= 400 && first.status < 500 {
		return Pass, fmt.Sprintf("rejected it with %d", first.status)
	}
	e, err := parseEcho(first)
	if err != nil {
		return Fail, err.Error()
	}
	switch {
	case e.BodyLen == 0 && after == closed:
		return Pass, "read it as chunked and closed the connection"
	case e.BodyLen == 0:
		return Warn, "read it as chunked but kept the connection open (RFC 9112 §6.3 asks to close it after such a message)"
	case e.BodyLen == len(body):
		return Warn, "read it by Content-Length, ignoring Transfer-Encoding: a proxy in front that reads it as chunked would forward the rest as another request"
	}
	return Fail, fmt.Sprintf("the app read %d bytes of a %d-byte body", e.BodyLen, len(body))
}

func checkTEVariant(header string, mustReject bool) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		body := "0\r\n\r\n" + smuggle
		e, outcome, detail := oddTransferEncoding(ctx, t, header+"\r\n", body)
		if e == nil {
			return outcome, detail
		}
		if e.BodyLen == 0 && len(body) > 0 {
			return Fail, fmt.Sprintf("took %q as chunked: the app read the empty chunked body", header)
		}
		if e.BodyLen == len(body) {
			if mustReject {
				return Fail, fmt.Sprintf("accepted %q, framing the body by Content-Length: a proxy that reads the header the other way could smuggle a request through", header)
			}
			return Warn, fmt.Sprintf("ignored %q and framed the body by Content-Length instead of answering 501", header)
		}
		return Fail, fmt.Sprintf("accepted %q; the app read %d of %d bytes", header, e.BodyLen, len(body))
	}
}

// oddTransferEncoding sends body with a Content-Length and the
// Transfer-Encoding lines in headers (each ending in CRLF), body being an
// empty chunked body followed by a hidden request, and judges what every
// such case shares: the hidden request served fails (smuggling), a 4xx or
// 501 passes, another 5xx warns. Otherwise it returns what the app saw of
// the request for the case to judge; e is nil when it judged already.
func oddTransferEncoding(ctx context.Context, t *target, headers, body string) (e *echo, outcome Outcome, detail string) {
	raw := post("/probe/echo", fmt.Sprintf("Content-Length: %d\r\n%s", len(body), headers), body)
	first, second, _, err := ambiguous(ctx, t, raw)
	if err != nil {
		outcome, detail = rejected(nil, err)
		return nil, outcome, detail
	}
	shown := strings.TrimSpace(strings.ReplaceAll(headers, "\r\n", " "))
	if first.smuggled() || second.smuggled() {
		return nil, Fail, fmt.Sprintf("took %q as chunked, kept the connection and served the request hidden after the terminator: request smuggling", shown)
	}
	switch {
	case first.status >= 400 && first.status < 500, first.status == 501:
		return nil, Pass, fmt.Sprintf("rejected it with %d", first.status)
	case first.status >= 500:
		return nil, Warn, fmt.Sprintf("refused it with %d, a server error, instead of 400 or 501: safe, but it reads as the server failing", first.status)
	}
	e, err = parseEcho(first)
	if err != nil {
		return nil, Fail, err.Error()
	}
	return e, "", ""
}

func checkDuplicateCL(ctx context.Context, t *target) (Outcome, string) {
	body := "hello" + smuggle
	raw := post("/probe/echo", fmt.Sprintf("Content-Length: 5\r\nContent-Length: %d\r\n", len(body)), body)
	first, second, _, err := ambiguous(ctx, t, raw)
	if err != nil {
		return rejected(nil, err)
	}
	if first.smuggled() || second.smuggled() {
		return Fail, "took the first Content-Length and served the rest of the body as a request: request smuggling"
	}
	if first.status >= 400 && first.status < 500 {
		return Pass, fmt.Sprintf("rejected it with %d", first.status)
	}
	if e, err := parseEcho(first); err == nil {
		return Fail, fmt.Sprintf("accepted it, reading %d bytes: a proxy in front that picks the other length would desynchronise", e.BodyLen)
	}
	return Fail, fmt.Sprintf("answered %s", first)
}

func checkCLSyntax(value string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		first, second, _, err := ambiguous(ctx, t, post("/probe/echo", "Content-Length: "+value+"\r\n", "hello"))
		if err != nil {
			return rejected(nil, err)
		}
		if second != nil {
			return Fail, fmt.Sprintf("answered the body as another request (%s)", second)
		}
		if first.status >= 400 && first.status < 500 {
			return Pass, fmt.Sprintf("rejected it with %d", first.status)
		}
		if e, err := parseEcho(first); err == nil {
			return Fail, fmt.Sprintf("accepted Content-Length: %s as %d bytes: a proxy that refuses or reads it otherwise disagrees on where the request ends", value, e.BodyLen)
		}
		return Fail, fmt.Sprintf("answered %s", first)
	}
}

func checkChunkSize(size string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		raw := post("/probe/echo", "Transfer-Encoding: chunked\r\n", size+"\r\nhello\r\n0\r\n\r\n")
		return malformedChunked(ctx, t, raw, "the rest of the body", func(e *echo) (Outcome, string) {
			return Fail, fmt.Sprintf("accepted chunk size %q, reading %d bytes", size, e.BodyLen)
		})
	}
}

// malformedChunked sends raw, a chunked request a strict server refuses,
// and judges what every such case shares: a request hidden in it that
// reaches the app fails (smuggling), a 4xx passes, a second answer on the
// connection fails (rest names what the server took for another request);
// otherwise judge rules on what the app read (see chunkedTail).
func malformedChunked(ctx context.Context, t *target, raw, rest string, judge func(e *echo) (Outcome, string)) (Outcome, string) {
	first, second, _, err := ambiguous(ctx, t, raw)
	if err != nil {
		return rejected(nil, err)
	}
	if first.smuggled() || second.smuggled() {
		return Fail, fmt.Sprintf("served the request hidden in %s: request smuggling", rest)
	}
	if first.status >= 400 && first.status < 500 {
		return Pass, fmt.Sprintf("rejected it with %d", first.status)
	}
	if second != nil {
		return Fail, fmt.Sprintf("answered %s as another request (%s)", rest, second)
	}
	return chunkedTail(first, judge)
}

func checkUnreadBody(ctx context.Context, t *target) (Outcome, string) {
	c, err := t.dial(ctx)
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if err := c.send(post("/probe/unread", fmt.Sprintf("Content-Length: %d\r\n", len(smuggle)), smuggle)); err != nil {
		return Fail, err.Error()
	}
	r, err := c.read("POST", 0)
	if err != nil {
		return Fail, err.Error()
	}
	if r.smuggled() {
		return Fail, "answered the unread body as a request: request smuggling"
	}
	if r.closes() {
		return Pass, "closed the connection after the response"
	}
	if err := c.send(get("/probe/echo/next")); err != nil {
		return Pass, "closed the connection after the response"
	}
	r2, err := c.read("GET", 0)
	switch {
	case errors.Is(err, errClosed):
		return Pass, "closed the connection after the response"
	case err != nil:
		return Fail, "the next request on the connection: " + err.Error()
	case r2.smuggled():
		return Fail, "served the unread body as the next request: request smuggling"
	}
	if e, err := parseEcho(r2); err != nil || e.PathInfo != "/probe/echo/next" {
		return Fail, fmt.Sprintf("the next request on the connection got %s", r2)
	}
	return Pass, "skipped the unread body; the next request was served"
}

func checkObsFold(ctx context.Context, t *target) (Outcome, string) {
	r, err := rawOnce(ctx, t, "GET /probe/echo HTTP/1.1\r\n"+host+"X-Folded: a\r\n b\r\n\r\n")
	if err != nil || r.status != 200 {
		return rejected(r, err)
	}
	e, perr := parseEcho(r)
	if perr != nil {
		return Fail, perr.Error()
	}
	v, ok := e.Headers["HTTP_X_FOLDED"]
	if ok && strings.Join(strings.Fields(v), " ") == "a b" && !strings.ContainsAny(v, "\r\n") {
		return Pass, fmt.Sprintf("unfolded it to %q", v)
	}
	return Fail, fmt.Sprintf("accepted it; the app saw X-Folded as %q (present: %v)", v, ok)
}

func checkBadByte(b string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		r, err := rawOnce(ctx, t, "GET /probe/echo HTTP/1.1\r\n"+host+"X-Bad: a"+b+"b\r\n\r\n")
		if err != nil || r.status != 200 {
			return rejected(r, err)
		}
		e, perr := parseEcho(r)
		if perr != nil {
			return Fail, perr.Error()
		}
		v := e.Headers["HTTP_X_BAD"]
		if strings.Contains(v, b) {
			return Fail, fmt.Sprintf("passed %q to the app inside a header value", b)
		}
		return Pass, fmt.Sprintf("the app saw %q", v)
	}
}

func checkUnderscore(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, "GET /probe/echo HTTP/1.1\r\n"+host+"X_Forwarded_For: 6.6.6.6\r\n\r\n", "GET")
	if err != nil {
		return rejected(nil, err)
	}
	defer c.close()
	if r.status >= 400 && r.status < 500 {
		return Pass, fmt.Sprintf("rejected it with %d", r.status)
	}
	e, perr := parseEcho(r)
	if perr != nil {
		return Fail, perr.Error()
	}
	if e.Headers["HTTP_X_FORWARDED_FOR"] == "6.6.6.6" {
		return Warn, "X_Forwarded_For reached the app as HTTP_X_FORWARDED_FOR: behind a proxy that sets X-Forwarded-For but passes underscored names (Varnish does; nginx drops them), a client can forge its address"
	}
	return Pass, "dropped or kept apart"
}

func checkEnviron(ctx context.Context, t *target) (Outcome, string) {
	e, err := t.echoOnce(ctx, post("/probe/echo/env?a=1", "Content-Type: text/plain\r\nContent-Length: 5\r\n", "hello"), "POST")
	if err != nil {
		return Fail, err.Error()
	}
	if len(e.Problems) > 0 {
		return Fail, strings.Join(e.Problems, "; ")
	}
	if e.ContentLength != "5" || e.BodyLen != 5 {
		return Fail, fmt.Sprintf("CONTENT_LENGTH %q, body %d bytes", e.ContentLength, e.BodyLen)
	}
	if len(e.Oddities) > 0 {
		return Warn, strings.Join(e.Oddities, "; ") + " (wsgiref.validate rejects it; few apps read it)"
	}
	return Pass, "every required key, of the right type"
}

func checkPathLatin1(ctx context.Context, t *target) (Outcome, string) {
	e, err := t.echoOnce(ctx, get("/probe/echo/caf%C3%A9"), "GET")
	if err != nil {
		return Fail, err.Error()
	}
	switch e.PathInfo {
	case "/probe/echo/caf\u00c3\u00a9":
		return Pass, "UTF-8 bytes decoded as latin-1, as PEP 3333 asks"
	case "/probe/echo/café":
		return Fail, "decoded PATH_INFO as UTF-8: apps that re-encode it as latin-1 (as PEP 3333 tells them to) get a wrong path"
	}
	return Fail, fmt.Sprintf("PATH_INFO %q", e.PathInfo)
}

func checkQuery(ctx context.Context, t *target) (Outcome, string) {
	e, err := t.echoOnce(ctx, get("/probe/echo?a=%20b&c=d+e"), "GET")
	if err != nil {
		return Fail, err.Error()
	}
	if e.QueryString != "a=%20b&c=d+e" {
		return Fail, fmt.Sprintf("QUERY_STRING %q", e.QueryString)
	}
	return Pass, "undecoded"
}

func checkReadMore(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, post("/probe/readmore", "Content-Length: 10\r\n", "0123456789"), "POST")
	if errors.Is(err, errTimeout) {
		return Warn, "wsgi.input.read() past Content-Length blocks: an app that reads more than the body hangs until the client gives up"
	}
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.status != 200 || !strings.Contains(string(r.body), `"got": 10`) {
		return Fail, fmt.Sprintf("answered %s %s", r, r.body)
	}
	return Pass, "read() returned the 10 bytes and stopped"
}

func checkReadline(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, post("/probe/lines", "Content-Length: 9\r\n", "a\nbb\nccc\n"), "POST")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.status != 200 || !strings.Contains(string(r.body), `"lines": 3`) || !strings.Contains(string(r.body), `"ok": true`) {
		return Fail, fmt.Sprintf("answered %s %s", r, r.body)
	}
	return Pass, "3 lines"
}

func checkWrite(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, get("/probe/write"), "GET")
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.status != 200 || string(r.body) != "written ok\n" {
		return Fail, fmt.Sprintf("answered %s with body %q", r, r.body)
	}
	return Pass, "the written bytes came first"
}

func checkClose(ctx context.Context, t *target) (Outcome, string) {
	var b [8]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	c, r, err := t.once(ctx, get("/probe/close?token="+token), "GET")
	if err != nil {
		return Fail, err.Error()
	}
	c.close()
	if r.status != 200 {
		return Fail, fmt.Sprintf("answered %s", r)
	}
	// close() may run just after the response is sent.
	deadline := time.Now().Add(time.Second)
	for {
		c, r, err := t.once(ctx, get("/probe/closed?token="+token), "GET")
		if err != nil {
			return Fail, "asking whether close() ran: " + err.Error()
		}
		c.close()
		if string(r.body) == "yes" {
			return Pass, "close() was called"
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return Fail, "close() was not called within 1 s of the response: resources an app frees there leak"
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func checkAppError(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, get("/probe/error"), "GET")
	if errors.Is(err, errClosed) {
		return Warn, "dropped the connection without a response: a proxy in front answers 502/503, a client sees a reset"
	}
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	if r.status != 500 {
		return Fail, fmt.Sprintf("answered %s", r)
	}
	return Pass, "500"
}

func checkErrorAfter(ctx context.Context, t *target) (Outcome, string) {
	c, r, err := t.once(ctx, get("/probe/error-after"), "GET")
	if errors.Is(err, errClosed) {
		return Pass, "dropped the connection before the headers"
	}
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	switch {
	case r.bodyErr != nil:
		return Pass, "cut the body off, so the client sees it is incomplete"
	case r.chunked:
		return Fail, "ended the chunked body cleanly after the app failed: a cache in front stores the truncated page as complete"
	case r.header.Get("Content-Length") != "":
		return Fail, "the truncated body matched its Content-Length"
	}
	return Warn, "the body ends with the connection, so the truncation cannot be told from a complete response"
}
