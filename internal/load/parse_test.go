package load

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// outcome is what the parser made of one response.
type outcome struct {
	status     int
	closeAfter bool
}

// parseStream feeds data to a parser the way a connection does: in the given
// pieces, keeping unconsumed bytes for the next piece. heads says which
// responses answer HEAD requests. eof reports the connection closing at the
// end. It returns the completed responses and the first error, where
// errIncomplete means the stream ended inside a response.
func parseStream(pieces [][]byte, heads []bool, eof bool) ([]outcome, error) {
	var p respParser
	var out []outcome
	var buf []byte
	isHead := func() bool { return len(out) < len(heads) && heads[len(out)] }
	for _, piece := range pieces {
		buf = append(buf, piece...)
		for len(buf) > 0 {
			p.head = isHead()
			n, done, err := p.feed(buf)
			if n < 0 || n > len(buf) {
				return out, fmt.Errorf("feed consumed %d of %d bytes", n, len(buf))
			}
			buf = buf[n:]
			if err != nil {
				return out, err
			}
			if !done {
				break
			}
			out = append(out, outcome{p.status, p.closeAfter})
			if p.closeAfter {
				return out, nil // the connection ends here; the rest is ignored
			}
		}
	}
	if eof {
		p.head = isHead()
		if p.eof() {
			out = append(out, outcome{p.status, p.closeAfter})
		} else if p.state != stStatus || len(buf) > 0 {
			return out, errIncomplete
		}
	}
	if !eof && (p.state != stStatus || len(buf) > 0) {
		return out, errIncomplete
	}
	return out, nil
}

var errIncomplete = errors.New("stream ended inside a response")

var parseCases = []struct {
	name  string
	in    string
	heads []bool
	eof   bool
	want  []outcome
	err   error
}{
	{
		name: "content-length",
		in:   "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello",
		want: []outcome{{200, false}},
	},
	{
		name: "two pipelined",
		in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
			"HTTP/1.1 404 Not Found\r\ncontent-LENGTH: 9\r\n\r\nnot found",
		want: []outcome{{200, false}, {404, false}},
	},
	{
		name: "chunked with extensions and trailers",
		in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5;ext=1\r\nhello\r\n6 ; a=\"b\"\r\n world\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: v\r\nY: z\r\n\r\n" +
			"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
		want: []outcome{{200, false}, {201, false}},
	},
	{
		name: "chunked upper-case hex, no trailers",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n1F\r\n" + strings.Repeat("x", 31) + "\r\n0\r\n\r\n",
		want: []outcome{{200, false}},
	},
	{
		name: "HTTP/1.0 delimited by close",
		in:   "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body\nwith lines\r\n\r\n",
		eof:  true,
		want: []outcome{{200, true}},
	},
	{
		name: "HTTP/1.0 with length, no keep-alive",
		in:   "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		want: []outcome{{200, true}},
	},
	{
		name: "HTTP/1.0 keep-alive",
		in: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc" +
			"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		want: []outcome{{200, false}, {200, false}},
	},
	{
		name: "HTTP/1.1 without length delimited by close",
		in:   "HTTP/1.1 200 OK\r\n\r\nuntil the end",
		eof:  true,
		want: []outcome{{200, true}},
	},
	{
		name: "connection close",
		in:   "HTTP/1.1 200 OK\r\nConnection: upgrade, CLOSE\r\nContent-Length: 1\r\n\r\nx",
		want: []outcome{{200, true}},
	},
	{
		name: "204 and 304 have no body",
		in: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n" +
			"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!",
		want: []outcome{{204, false}, {304, false}, {200, false}},
	},
	{
		name:  "HEAD has no body",
		in:    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		heads: []bool{true, true, false},
		want:  []outcome{{200, false}, {200, false}, {200, false}},
	},
	{
		name: "interim responses are skipped",
		in:   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		want: []outcome{{200, false}},
	},
	{
		name: "bare LF line endings and no reason",
		in:   "HTTP/1.1 500\nContent-Length: 3\n\nerr",
		want: []outcome{{500, false}},
	},
	{
		name: "obs-fold continuation ignored",
		in:   "HTTP/1.1 302 Found\r\nX-Long: a\r\n  b\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
		want: []outcome{{302, false}},
	},
	{
		name: "duplicate equal content-length",
		in:   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		want: []outcome{{200, false}},
	},
	{
		name: "transfer-encoding wins over content-length and closes",
		in:   "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		want: []outcome{{200, true}},
	},
	{
		name: "non-chunked transfer-encoding delimited by close",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzzz",
		eof:  true,
		want: []outcome{{200, true}},
	},
	{
		name: "large body",
		in:   "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("b", 20000),
		want: []outcome{{200, false}},
	},
	{name: "garbage", in: "FOO BAR\r\n\r\n", err: errStatusLine},
	{name: "two-digit status", in: "HTTP/1.1 20 OK\r\n\r\n", err: errStatusLine},
	{name: "status zero", in: "HTTP/1.1 099 X\r\n\r\n", err: errStatusLine},
	{name: "HTTP/2 status line", in: "HTTP/2 200 OK\r\n\r\n", err: errStatusLine},
	{name: "status glued to reason", in: "HTTP/1.1 200OK\r\n\r\n", err: errStatusLine},
	{name: "bad content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", err: errContentLength},
	{name: "negative content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errContentLength},
	{name: "conflicting content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: errContentLength},
	{name: "header without colon", in: "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", err: errHeaderLine},
	{name: "space before colon", in: "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", err: errHeaderLine},
	{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: errChunkSize},
	{name: "huge chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", err: errChunkSize},
	{name: "chunk overruns", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", err: errChunkEnd},
	{name: "switching protocols", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", err: errUpgrade},
	{name: "line too long", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxLine+10) + "\r\n\r\n", err: errLineTooLong},
	{name: "truncated body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", eof: true, err: errIncomplete},
	{name: "truncated head", in: "HTTP/1.1 200 OK\r\nContent-Len", eof: true, err: errIncomplete},
	{name: "truncated chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", eof: true, err: errIncomplete},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStream([][]byte{[]byte(tc.in)}, tc.heads, tc.eof)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if tc.err == nil && fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("responses = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestParseSplit feeds every case split at every byte boundary, and one byte
// at a time, and expects the same outcome as in one piece.
func TestParseSplit(t *testing.T) {
	for _, tc := range parseCases {
		if len(tc.in) > 4096 {
			continue // quadratic; the whole-piece test covers it
		}
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			want, wantErr := parseStream([][]byte{in}, tc.heads, tc.eof)
			for i := 0; i <= len(in); i++ {
				got, err := parseStream([][]byte{in[:i], in[i:]}, tc.heads, tc.eof)
				if !errors.Is(err, wantErr) || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("split at %d: %v, %v; want %v, %v", i, got, err, want, wantErr)
				}
			}
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			got, err := parseStream(bytewise, tc.heads, tc.eof)
			if !errors.Is(err, wantErr) || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("byte by byte: %v, %v; want %v, %v", got, err, want, wantErr)
			}
		})
	}
}

func TestParseAllocs(t *testing.T) {
	in := []byte(nginxResponse + chunkedResponse)
	var p respParser
	allocs := testing.AllocsPerRun(100, func() {
		b := in
		for len(b) > 0 {
			n, _, err := p.feed(b)
			if err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	})
	if allocs != 0 {
		t.Fatalf("parser allocates %v times per pass, want 0", allocs)
	}
}

const nginxResponse = "HTTP/1.1 200 OK\r\n" +
	"Server: nginx/1.22.1\r\n" +
	"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
	"Content-Type: text/html\r\n" +
	"Content-Length: 64\r\n" +
	"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
	"Connection: keep-alive\r\n" +
	"ETag: \"65920000-40\"\r\n" +
	"Accept-Ranges: bytes\r\n" +
	"\r\n" +
	"0123456789012345678901234567890123456789012345678901234567890123"

const chunkedResponse = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Transfer-Encoding: chunked\r\n" +
	"\r\n" +
	"10;x=y\r\n{\"id\":1,\"name\":\"\r\n" +
	"6\r\nwidget\r\n" +
	"2\r\n\"}\r\n" +
	"0\r\nX-Checksum: 1\r\n\r\n"

func benchmarkParse(b *testing.B, resp string) {
	in := []byte(resp)
	var p respParser
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		n, done, err := p.feed(in)
		if err != nil || !done || n != len(in) {
			b.Fatalf("feed = %d, %v, %v", n, done, err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) { benchmarkParse(b, nginxResponse) }
func BenchmarkParseChunked(b *testing.B)  { benchmarkParse(b, chunkedResponse) }

// BenchmarkParseResponseSplit parses a response that arrives in two reads,
// split inside a header line.
func BenchmarkParseResponseSplit(b *testing.B) {
	in := []byte(nginxResponse)
	cut := strings.Index(nginxResponse, "Content-Length") + 5
	buf := make([]byte, 0, len(in))
	var p respParser
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], in[:cut]...)
		n, done, err := p.feed(buf)
		if err != nil || done {
			b.Fatal("unexpected", err)
		}
		buf = append(buf[:copy(buf, buf[n:])], in[cut:]...)
		if _, done, err = p.feed(buf); err != nil || !done {
			b.Fatal("incomplete", err)
		}
	}
}
