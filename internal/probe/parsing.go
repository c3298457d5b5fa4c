package probe

import (
	"context"
	"fmt"
	"strings"
)

// The parser-flaw classes that differential fuzzing (HTTP Garden, by
// Kenneth Kerns / narfindustries) and the 2022-2025 advisories of the
// Python servers found: each case below cites the rule and the report
// that showed a real server getting it wrong. They extend the older
// smuggling cases (cl-and-te, te-space-before-colon, ...) to the shapes
// those reports used.

// checkTEList sends a Transfer-Encoding the grammar forbids or the server
// should not accept as plain chunked ("chunked, chunked", "gzip, chunked"),
// beside a Content-Length framing the whole body, and a request hidden
// after the chunked terminator:
//
//	pass  rejected (4xx, 501) or closed without an answer
//	warn  read it as chunked and closed the connection: safe, though the
//	      RFC asks for 400 (chunked twice) or 501 (a coding it lacks);
//	      framed it by Content-Length, ignoring Transfer-Encoding (as
//	      cl-and-te judges the same: Transfer-Encoding overrides the
//	      length, and only a proxy that forwards both headers reaches
//	      it); or refused it with a 5xx
//	fail  served the hidden request, or read some other length
func checkTEList(headers string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		body := "0\r\n\r\n" + smuggle
		e, outcome, detail := oddTransferEncoding(ctx, t, headers, body)
		if e == nil {
			return outcome, detail
		}
		shown := strings.TrimSpace(strings.ReplaceAll(headers, "\r\n", " "))
		switch e.BodyLen {
		case 0:
			return Warn, fmt.Sprintf("read %q as plain chunked and closed the connection: safe, but the RFC asks to refuse it (400, or 501 for a coding it does not apply)", shown)
		case len(body):
			return Warn, fmt.Sprintf("ignored %q and framed the body by Content-Length (the app read all %d bytes): Transfer-Encoding overrides the length (RFC 9112 §6.3), so a proxy that reads it as chunked and forwards both headers would smuggle the rest (the shape of CVE-2024-6827)", shown, len(body))
		}
		return Fail, fmt.Sprintf("accepted %q; the app read %d of %d bytes", shown, e.BodyLen, len(body))
	}
}

// checkTETwice sends two Transfer-Encoding: chunked lines and no
// Content-Length. Together they mean "chunked, chunked" (RFC 9110 §5.3),
// which RFC 9112 §6.1 forbids; tornado before 6.4.1 matched neither and
// read no body, so the chunked body was parsed as the next request.
//
//	pass  rejected or closed
//	warn  read the body as chunked once (lenient, as most proxies are),
//	      or read no body and closed (no chunked support at all: see
//	      chunked-request)
//	fail  read no body and answered the chunk bytes as another request,
//	      or left them on an open connection
func checkTETwice(ctx context.Context, t *target) (Outcome, string) {
	raw := post("/probe/echo", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n")
	first, second, after, err := ambiguous(ctx, t, raw)
	if err != nil {
		return rejected(nil, err)
	}
	if first.status >= 400 && first.status < 500 || first.status == 501 {
		return Pass, fmt.Sprintf("rejected it with %d", first.status)
	}
	if second != nil {
		return Fail, fmt.Sprintf("read no body and answered the chunked body's bytes as another request (%s): it ignored both Transfer-Encoding lines", second)
	}
	e, err := parseEcho(first)
	if err != nil {
		return Fail, err.Error()
	}
	switch {
	case e.BodySHA256 == sum("hello"):
		return Warn, "read it as chunked once: lenient (chunked may not be applied twice, RFC 9112 §6.1), as most proxies are"
	case e.BodyLen == 0 && after == closed:
		return Warn, "read no body and closed the connection: it does not decode this chunked body (see chunked-request), but nothing was left to be read as a request"
	case e.BodyLen == 0:
		return Fail, "read no body and left the chunked bytes on the connection (answering them with something that is not an HTTP/1.x response): it ignored both Transfer-Encoding lines"
	}
	return Fail, fmt.Sprintf("the app read %d bytes instead of the 5-byte chunked body", e.BodyLen)
}

// checkCLName sends a Content-Length the server must refuse (its name
// malformed, as "Content-Length : N") with a request as the body.
//
//	pass  rejected or closed
//	warn  ignored it (no body) and closed the connection: nothing served
//	fail  framed the body by it (cheroot #714), or ignored it and
//	      served the body as a request
func checkCLName(line string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		raw := post("/probe/echo", fmt.Sprintf(line, len(smuggle))+"\r\n", smuggle)
		first, second, after, err := ambiguous(ctx, t, raw)
		if err != nil {
			return rejected(nil, err)
		}
		shown := fmt.Sprintf(line, len(smuggle))
		if first.smuggled() || second.smuggled() {
			return Fail, fmt.Sprintf("ignored %q and served the body as a request: a proxy that honours it forwards that request unseen", shown)
		}
		if first.status >= 400 && first.status < 500 {
			return Pass, fmt.Sprintf("rejected it with %d", first.status)
		}
		e, err := parseEcho(first)
		switch {
		case err != nil:
			return Fail, fmt.Sprintf("answered %s", first)
		case e.BodyLen == 0 && after == closed:
			return Warn, fmt.Sprintf("ignored %q (the app read no body) and closed the connection: nothing smuggled here, but RFC 9112 §5.1 asks for 400, and on a kept-alive connection the body would be read as a request", shown)
		}
		return Fail, fmt.Sprintf("accepted %q, the app reading %d bytes (RFC 9112 §5.1: 400)", shown, e.BodyLen)
	}
}

// checkCLValue sends Content-Length: value with body. want is the length
// the value means (-1: none, it must be refused).
//
//	pass  rejected it (when invalid), or read exactly want bytes (when
//	      valid; refusing a valid one is a warn)
//	fail  accepted an invalid value, read another length, or answered
//	      the rest of the body as a request
func checkCLValue(value, body string, want int) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		first, second, _, err := ambiguous(ctx, t, post("/probe/echo", "Content-Length: "+value+"\r\n", body))
		if err != nil {
			if want >= 0 {
				o, d := rejected(nil, err)
				if o == Pass {
					return Warn, "refused a valid Content-Length: " + d
				}
				return o, d
			}
			return rejected(nil, err)
		}
		if second != nil {
			return Fail, fmt.Sprintf("answered part of the body as another request (%s)", second)
		}
		if first.status >= 400 && first.status < 500 {
			if want >= 0 {
				return Warn, fmt.Sprintf("refused Content-Length: %s, which the grammar (1*DIGIT) allows, with %d", value, first.status)
			}
			return Pass, fmt.Sprintf("rejected it with %d", first.status)
		}
		e, err := parseEcho(first)
		if err != nil {
			return Fail, fmt.Sprintf("answered %s", first)
		}
		if want < 0 {
			return Fail, fmt.Sprintf("accepted Content-Length: %s (the app saw CONTENT_LENGTH %q and read %d bytes): a proxy that refuses it or reads it otherwise disagrees on where the request ends", value, e.ContentLength, e.BodyLen)
		}
		if e.BodyLen != want {
			return Fail, fmt.Sprintf("read Content-Length: %s as %d bytes, not %d", value, e.BodyLen, want)
		}
		return Pass, fmt.Sprintf("read %d bytes", want)
	}
}

// chunkedTail judges a chunked request's first response once rejection
// and a second response are ruled out: a 5xx means the app's read raised
// (the server refused the body only as the app read it), no body at all
// means the server does not decode chunked bodies (chunked-request fails
// for that); otherwise ok judges what the app read.
func chunkedTail(first *response, ok func(*echo) (Outcome, string)) (Outcome, string) {
	if first.status >= 500 {
		return Warn, fmt.Sprintf("refused it only as the app read the body (%s): nothing misframed, but the app saw an error", first)
	}
	e, err := parseEcho(first)
	if err != nil {
		return Fail, err.Error()
	}
	if e.BodyLen == 0 {
		return Warn, "the app read no body and nothing more was answered: the server does not decode chunked bodies (see chunked-request), so it cannot be lenient about them"
	}
	return ok(e)
}

// checkTrailerSmuggle hides a request where the trailer section goes: the
// last chunk, then "GET /probe/smuggled ..." instead of a trailer field.
// eventlet before 0.40.3 (CVE-2025-58068) and gevent before 23.9
// (CVE-2023-41419) did not read trailers as trailers, so the request
// reached the app.
//
//	pass  rejected or closed (a trailer line without a colon is invalid)
//	warn  swallowed the line as a trailer and went on
//	fail  served the hidden request
func checkTrailerSmuggle(ctx context.Context, t *target) (Outcome, string) {
	raw := post("/probe/echo", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n"+smuggle)
	return malformedChunked(ctx, t, raw, "the trailer section", func(e *echo) (Outcome, string) {
		if e.BodySHA256 != sum("hello") {
			return Fail, fmt.Sprintf("the app read %d bytes, not the 5 sent", e.BodyLen)
		}
		return Warn, "read the request line as a trailer field and dropped it: nothing smuggled, but a field line without a colon is invalid (RFC 9112 §5)"
	})
}

// checkChunkLF ends the chunk-size lines with a bare LF.
//
//	pass  rejected or closed
//	warn  accepted it: the bare-LF allowance of RFC 9112 §2.2 covers the
//	      start line and fields, not chunk lines; harmless unless a proxy
//	      in front reads the LF otherwise (Go fixed this as CVE-2025-22871)
//	fail  misread the body
func checkChunkLF(ctx context.Context, t *target) (Outcome, string) {
	raw := post("/probe/echo", "Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\n\r\n")
	return malformedChunked(ctx, t, raw, "part of the body", func(e *echo) (Outcome, string) {
		if e.BodySHA256 != sum("hello") {
			return Fail, fmt.Sprintf("the app read %d bytes, not the 5 sent", e.BodyLen)
		}
		return Warn, "accepted a bare LF ending the chunk-size lines: lenient; a proxy that reads a bare LF inside a chunk extension differently could smuggle a request (CVE-2025-22871)"
	})
}

// checkChunkTerminator puts two bytes other than CRLF after a chunk's
// data; h11 before 0.16.0 (CVE-2025-43859) accepted any two bytes there.
//
//	pass  rejected or closed
//	fail  accepted them as the chunk's CRLF
func checkChunkTerminator(ctx context.Context, t *target) (Outcome, string) {
	raw := post("/probe/echo", "Transfer-Encoding: chunked\r\n", "5\r\nhelloXY0\r\n\r\n")
	return malformedChunked(ctx, t, raw, "part of the body", func(e *echo) (Outcome, string) {
		return Fail, fmt.Sprintf("took \"XY\" for the CRLF after the chunk data (the app read %d bytes): a proxy that counts the chunk otherwise desynchronises", e.BodyLen)
	})
}

// checkCRSplit sends a bare CR inside a header value followed by what
// looks like another field. CPython's http.server (under wsgiref and
// werkzeug) ends a field line at a bare CR (python/cpython#114782), so
// the app sees a header the proxy in front never saw.
//
//	pass  rejected, or the value kept whole with the CR replaced
//	warn  the value kept whole with the CR in it (no split; cr-in-header
//	      fails that already)
//	fail  the app saw X-Smuggled
func checkCRSplit(ctx context.Context, t *target) (Outcome, string) {
	r, err := rawOnce(ctx, t, "GET /probe/echo HTTP/1.1\r\n"+host+"X-Visible: a\rX-Smuggled: b\r\n\r\n")
	if err != nil || r.status != 200 {
		return rejected(r, err)
	}
	e, perr := parseEcho(r)
	if perr != nil {
		return Fail, perr.Error()
	}
	if v, ok := e.Headers["HTTP_X_SMUGGLED"]; ok {
		return Fail, fmt.Sprintf("split the line at the bare CR: the app saw X-Smuggled: %q, a header a proxy in front saw as part of X-Visible", v)
	}
	v := e.Headers["HTTP_X_VISIBLE"]
	if strings.Contains(v, "\r") {
		return Warn, fmt.Sprintf("did not split the field, but passed the bare CR to the app inside X-Visible (%q; cr-in-header judges that)", v)
	}
	return Pass, fmt.Sprintf("kept one field; the app saw X-Visible: %q", v)
}

// checkNameByte sends a header whose name ends in a byte no token may
// hold. Python's str.strip() removes \x85 and \xa0, so gunicorn before 22
// saw "Transfer-Encoding\xa0" as Transfer-Encoding (benoitc/gunicorn#3091).
//
//	pass  rejected (RFC 9110 §5.1: a field name is a token)
//	warn  passed the odd name to the app as it came, or dropped it
//	fail  stripped the byte, turning an unknown field into a known one
func checkNameByte(b string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		r, err := rawOnce(ctx, t, "GET /probe/echo HTTP/1.1\r\n"+host+"X-Probe"+b+": a\r\n\r\n")
		if err != nil || r.status != 200 {
			return rejected(r, err)
		}
		e, perr := parseEcho(r)
		if perr != nil {
			return Fail, perr.Error()
		}
		if v, ok := e.Headers["HTTP_X_PROBE"]; ok {
			return Fail, fmt.Sprintf("stripped %q from the name: the app saw X-Probe: %q, so %q would count as Transfer-Encoding where a proxy saw an unknown field", b, v, "Transfer-Encoding"+b)
		}
		for k := range e.Headers {
			if strings.HasPrefix(k, "HTTP_X_PROBE") {
				return Warn, fmt.Sprintf("accepted the name and passed it on as %q: RFC 9110 §5.1 allows only token bytes (400)", k)
			}
		}
		return Warn, "accepted the request and dropped the field: RFC 9110 §5.1 asks for 400"
	}
}

// checkRequestLine sends an odd request line.
//
//	pass  rejected or closed (505 Version Not Supported too)
//	warn  served it (SHOULD-level rules: RFC 9112 §3 asks for 400)
//	fail  the app saw control bytes in REQUEST_METHOD, or a 5xx
func checkRequestLine(line string) func(context.Context, *target) (Outcome, string) {
	return func(ctx context.Context, t *target) (Outcome, string) {
		r, err := rawOnce(ctx, t, line+"\r\n"+host+"\r\n")
		if err == nil && r.status == 505 {
			return Pass, "505"
		}
		if err != nil || r.status != 200 {
			return rejected(r, err)
		}
		e, perr := parseEcho(r)
		if perr != nil {
			return Fail, perr.Error()
		}
		if strings.ContainsAny(e.Method, "\x00\r\n") {
			return Fail, fmt.Sprintf("passed REQUEST_METHOD %q to the app", e.Method)
		}
		return Warn, fmt.Sprintf("served %q: the app saw method %q, protocol %q; RFC 9112 §3 asks for 400 (one digit each side of the dot; the method a token)", line, e.Method, e.Protocol)
	}
}

// checkPipelineInvalidAfter sends a valid request and an invalid one in
// one write: the valid one must still be answered, then the invalid one
// refused (or the connection closed).
//
//	pass  the first answered, then 400 or a close
//	fail  the valid request went unanswered or was answered with the
//	      error meant for the next one
func checkPipelineInvalidAfter(ctx context.Context, t *target) (Outcome, string) {
	c, err := t.dial(ctx)
	if err != nil {
		return Fail, err.Error()
	}
	defer c.close()
	// The second: the start of a TLS hello, which every server refuses
	// (see garbage), so only the fate of the first is in question.
	if err := c.send(get("/probe/echo/first") + "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"); err != nil {
		return Fail, err.Error()
	}
	r, err := c.read("GET", 0)
	if err != nil {
		return Fail, fmt.Sprintf("the valid first request got no answer (%v): an invalid request after it cost a well-formed one", err)
	}
	e, perr := parseEcho(r)
	if perr != nil || e.PathInfo != "/probe/echo/first" {
		return Fail, fmt.Sprintf("the valid first request was answered %s: the error meant for the invalid second one", r)
	}
	if r.closes() {
		return Pass, "answered the valid request, then closed"
	}
	r2, err := c.read("GET", 0)
	switch {
	case err != nil:
		return rejected(nil, err)
	case r2.status >= 400 && r2.status < 500:
		return Pass, fmt.Sprintf("answered the valid request, then %d", r2.status)
	}
	return Fail, fmt.Sprintf("answered the valid request, then the invalid one with %s", r2)
}

// checkPipelineAfterError sends a request whose framing cannot be known
// (Content-Length: abc) and a request after it. The server must refuse
// the first and close: reading on means guessing where it ended. waitress
// before 3.0.1 could serve the second after failing the first
// (CVE-2024-49768).
//
//	pass  refused the first, never served the second
//	warn  accepted the first (as no body) but closed the connection
//	fail  served the second, or accepted the first and kept the
//	      connection
func checkPipelineAfterError(ctx context.Context, t *target) (Outcome, string) {
	raw := "POST /probe/echo HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n" + smuggle
	first, second, after, err := ambiguous(ctx, t, raw)
	if err != nil {
		return rejected(nil, err)
	}
	if first.smuggled() || second.smuggled() {
		return Fail, "served the request after one it could not frame: request smuggling"
	}
	if first.status >= 400 && first.status < 500 {
		if second != nil {
			return Fail, fmt.Sprintf("refused the first with %d but read on and answered %s", first.status, second)
		}
		return Pass, fmt.Sprintf("rejected it with %d and read no further", first.status)
	}
	if after == closed && second == nil {
		return Warn, fmt.Sprintf("accepted Content-Length: abc (%s) but closed the connection: nothing more served; RFC 9112 §6.3 asks for 400", first)
	}
	return Fail, fmt.Sprintf("accepted Content-Length: abc (%s) and kept the connection", first)
}
