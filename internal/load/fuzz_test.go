package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseResponse checks the parser on arbitrary input: it must not panic
// or over-consume, and where a stream is split must not change what it
// makes of it. Seeds are the table cases plus testdata/fuzz/FuzzParseResponse.
func FuzzParseResponse(f *testing.F) {
	for _, tc := range parseCases {
		var heads uint8
		for i, h := range tc.heads {
			if h {
				heads |= 1 << i
			}
		}
		if len(tc.in) <= 4096 {
			f.Add([]byte(tc.in), uint16(len(tc.in)/2), heads, tc.eof)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, headMask uint8, eof bool) {
		heads := make([]bool, 8)
		for i := range heads {
			heads[i] = headMask&(1<<i) != 0
		}
		whole, wholeErr := parseStream([][]byte{data}, heads, eof)
		for _, o := range whole {
			if o.status < 100 || o.status > 999 {
				t.Fatalf("status %d", o.status)
			}
		}
		cut := int(split) % (len(data) + 1)
		got, err := parseStream([][]byte{data[:cut], data[cut:]}, heads, eof)
		if !sameOutcome(got, err, whole, wholeErr) {
			t.Fatalf("split at %d: %v, %v; whole: %v, %v", cut, got, err, whole, wholeErr)
		}
		if len(data) <= 512 {
			var pieces [][]byte
			for i := range data {
				pieces = append(pieces, data[i:i+1])
			}
			got, err := parseStream(pieces, heads, eof)
			if !sameOutcome(got, err, whole, wholeErr) {
				t.Fatalf("byte by byte: %v, %v; whole: %v, %v", got, err, whole, wholeErr)
			}
		}
	})
}

func sameOutcome(a []outcome, aErr error, b []outcome, bErr error) bool {
	if fmt.Sprint(a) != fmt.Sprint(b) {
		return false
	}
	if aErr == nil || bErr == nil {
		return aErr == bErr
	}
	// A line too long for the parser may be detected at a different point
	// when it arrives in pieces, but it is the same error.
	return errors.Is(aErr, bErr) || errors.Is(bErr, aErr)
}

// FuzzTemplate: no path, header or body text panics the template compiler;
// what it accepts renders, in a flow whose first step captures a value the
// second may use, as one well-framed request: a request line, headers, and
// a body of the length its Content-Length says.
func FuzzTemplate(f *testing.F) {
	f.Add("/items/{var:id}", "X-Id: {var:id}", `{"n":{rand:1:9},"c":"{choice:a|b}","s":{seq}}`)
	f.Add("/{rand:", "A: {seq}", "{var:")
	f.Add("/{choice:a|b|}", "A: {choice:x}", "{}{{}}")
	f.Fuzz(func(t *testing.T, path, header, body string) {
		mix := []Template{{Name: "f", Steps: []Template{
			{Path: "/", Capture: []Capture{{Var: "id", JSON: "id"}}},
			{Method: "POST", Path: path, Header: []string{header}, Body: body},
		}}}
		reqs, err := RenderSample(mix, "127.0.0.1:8000", 1, 2)
		if err != nil {
			return
		}
		req := reqs[1]
		head, sent, ok := strings.Cut(req, "\r\n\r\n")
		line, _, _ := strings.Cut(head, "\r\n")
		if !ok || !strings.HasPrefix(line, "POST /") || !strings.HasSuffix(line, " HTTP/1.1") || strings.Count(line, " ") != 2 {
			t.Fatalf("malformed request %q", req)
		}
		if want := "Content-Length: " + strconv.Itoa(len(sent)) + "\r\n"; !strings.Contains(head+"\r\n", want) {
			t.Fatalf("request %q: body of %d bytes, framing says otherwise", req, len(sent))
		}
	})
}
