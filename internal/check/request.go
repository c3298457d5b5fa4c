package check

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/workload"
)

// Request is one concrete request the check sends, the same bytes to every
// server and to the in-process run. A list of them is all the check needs,
// so anything that can render requests (a workload's mix today, a scenario
// file's flows later) can feed it.
type Request struct {
	Name   string      `json:"name,omitempty"` // the template it came from
	Method string      `json:"method"`
	Target string      `json:"target"` // origin form: "/items/3?x=1"
	Header [][2]string `json:"headers,omitempty"`
	Body   string      `json:"body,omitempty"`
}

// String is "METHOD /target", how findings name a request.
func (r Request) String() string { return r.Method + " " + r.Target }

// Safe requests (RFC 9110 §9.2.1) do not change the app's state, so the
// same one must get the same answer whoever answers it.
func (r Request) Safe() bool {
	switch r.Method {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// raw is the request on the wire, closing the connection after it.
func (r Request) raw() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", r.Method, r.Target)
	for _, h := range r.Header {
		if strings.EqualFold(h[0], "Host") || strings.EqualFold(h[0], "Content-Length") || strings.EqualFold(h[0], "Connection") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if r.Body != "" || r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.Body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(r.Body)
	return b.Bytes()
}

// FromMix renders n requests from a workload's mix, picked and filled in
// as the load generator would on its first connection for seed, so the
// check sends what a run sends.
func FromMix(mix []load.Template, n int, seed int64) ([]Request, error) {
	raws, err := load.RenderSample(mix, "127.0.0.1", seed, n)
	if err != nil {
		return nil, err
	}
	names := map[string]string{} // method + path prefix → template name, best effort
	for _, t := range mix {
		names[t.Method+" "+t.Path] = t.Name
	}
	out := make([]Request, 0, n)
	for _, raw := range raws {
		hr, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return nil, fmt.Errorf("rendering a request: %w", err)
		}
		body, _ := io.ReadAll(hr.Body)
		r := Request{Method: hr.Method, Target: hr.RequestURI, Body: string(body)}
		for k, vs := range hr.Header {
			if k == "Content-Length" || k == "Connection" {
				continue
			}
			for _, v := range vs {
				r.Header = append(r.Header, [2]string{k, v})
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// DefaultRequests is how many requests the check renders from a mix.
const DefaultRequests = 24

// FromWorkloads renders n requests from each workload spec (a built-in
// name, or "METHOD /path" for the user's app), interleaved, and says where
// they came from. With no spec, a user's app gets "GET /", the one request every
// web app answers, and the bundled app its crud mix.
func FromWorkloads(specs []string, bundled bool, n int, seed int64) ([]Request, string, error) {
	from := "workload " + strings.Join(specs, ", ")
	if len(specs) == 0 {
		specs, from = []string{"GET /"}, `"GET /" (the default for an app; give --workload for more)`
		if bundled {
			specs, from = []string{workload.Default}, "workload "+workload.Default
		}
	}
	var lists [][]Request
	for _, spec := range specs {
		w, err := workload.Parse(spec)
		if err != nil {
			return nil, "", err
		}
		if w.Bundled && !bundled {
			return nil, "", fmt.Errorf("workload %s needs the bundled app's endpoints; with --app use --workload \"GET /your/path\"", w.Name)
		}
		k := n
		if len(w.Mix) == 1 && !varies(w.Mix[0]) {
			k = min(n, 4) // the same request n times says no more than four times
		}
		reqs, err := FromMix(w.Mix, k, seed)
		if err != nil {
			return nil, "", fmt.Errorf("workload %s: %w", w.Name, err)
		}
		lists = append(lists, reqs)
	}
	return interleave(lists), from, nil
}

// interleave deals the workloads' requests in turn, as a mix would, so a
// write from one is followed by reads from another: the process check
// needs a read right after a write to see which worker kept it.
func interleave(lists [][]Request) []Request {
	var out []Request
	for i := 0; ; i++ {
		added := false
		for _, l := range lists {
			if i < len(l) {
				out = append(out, l[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func varies(t load.Template) bool {
	return strings.Contains(t.Path+t.Body, "{rand:") || strings.Contains(t.Path+t.Body, "{seq}")
}
