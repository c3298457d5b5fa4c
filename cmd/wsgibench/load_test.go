package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestLoadFlagErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // in the error; "" for errUsageShown
	}{
		{"no URL", []string{"-c", "1"}, "want one URL"},
		{"two URLs", []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}, "want one URL"},
		{"https", []string{"https://127.0.0.1:8443/"}, "only http:// URLs"},
		{"no scheme", []string{"127.0.0.1:8000/"}, "want an http:// URL"},
		{"remote IP", []string{"http://10.1.2.3:8000/"}, "not a loopback address"},
		{"remote name", []string{"http://example.com/"}, "not a loopback address"},
		{"mapped remote", []string{"http://[::ffff:10.0.0.1]:80/"}, "not a loopback address"},
		{"bad port", []string{"http://127.0.0.1:99999/"}, "bad port"},
		{"user info", []string{"http://u:p@127.0.0.1:80/"}, "bad host"},
		{"zero connections", []string{"-c", "0", "http://127.0.0.1:1/"}, "-c"},
		{"fractional connections", []string{"-c", "1.5", "http://127.0.0.1:1/"}, "-c"},
		{"bad duration", []string{"-d", "soon", "http://127.0.0.1:1/"}, "-d"},
		{"zero duration", []string{"-d", "0", "http://127.0.0.1:1/"}, "-d"},
		{"negative rate", []string{"-R", "-5", "http://127.0.0.1:1/"}, "-R"},
		{"bad header", []string{"-H", "NoColon", "http://127.0.0.1:1/"}, ""},
		{"unknown flag", []string{"--bogus", "http://127.0.0.1:1/"}, ""},
		{"bad cpu list", []string{"--cpu", "1-", "http://127.0.0.1:1/"}, "--cpu"},
		{"bad timeout", []string{"--timeout", "-1s", "http://127.0.0.1:1/"}, "--timeout"},
		{"bad variable", []string{"http://127.0.0.1:1/{rand:9:1}"}, "LO <= HI"},
		{"deep pipeline", []string{"--pipeline", "100000", "http://127.0.0.1:1/"}, "pipeline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := cmdLoad(context.Background(), tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout.String())
			}
			if tc.want == "" {
				if !errors.Is(err, errUsageShown) {
					t.Fatalf("error %v, want the usage error", err)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line containing %q", err, tc.want)
			}
		})
	}
	if err := cmdLoad(context.Background(), []string{"-h"}, io.Discard, io.Discard); !errors.Is(err, errHelp) {
		t.Errorf("-h: %v, want errHelp", err)
	}
}

func TestParseLoadURL(t *testing.T) {
	cases := []struct {
		in               string
		addr, host, path string
	}{
		{"http://127.0.0.1:8000", "127.0.0.1:8000", "127.0.0.1:8000", "/"},
		{"http://localhost:8000/a?b=1#frag", "127.0.0.1:8000", "localhost:8000", "/a?b=1"},
		{"http://[::1]:8080/x", "[::1]:8080", "[::1]:8080", "/x"},
		{"http://127.0.0.2?q", "127.0.0.2:80", "127.0.0.2", "/?q"},
		{"http://127.0.0.1:8000/items/{rand:1:100}?p={seq}", "127.0.0.1:8000", "127.0.0.1:8000", "/items/{rand:1:100}?p={seq}"},
	}
	for _, tc := range cases {
		got, err := parseLoadURL(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.addr != tc.addr || got.host != tc.host || got.path != tc.path {
			t.Errorf("%s: %+v, want addr %s host %s path %s", tc.in, got, tc.addr, tc.host, tc.path)
		}
	}
}

func TestParseLoadDurationAndMetric(t *testing.T) {
	for in, want := range map[string]time.Duration{"10s": 10 * time.Second, "2m": 2 * time.Minute, "3": 3 * time.Second, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond} {
		if got, err := parseLoadDuration(in); err != nil || got != want {
			t.Errorf("parseLoadDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]float64{"10": 10, "2k": 2000, "1.5K": 1500, "1M": 1e6, "0": 0} {
		if got, err := parseMetric(in); err != nil || got != want {
			t.Errorf("parseMetric(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func newLoadTestServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "hello %s", r.Method)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestLoadHumanOutput(t *testing.T) {
	srv, served := newLoadTestServer(t)
	var stdout, stderr bytes.Buffer
	// Flags after the URL too, as wrk users type them.
	err := cmdLoad(context.Background(), []string{"-c", "2", srv.URL + "/hi", "-d", "300ms", "-H", "X-Test: 1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := stdout.String()
	t.Logf("\n%s", out)
	for _, want := range []string{"2 connections, closed model", "requests", "p50", "p99.99", "max", "200: ", "errors       0", "connections  2 opened", "generator    CPU"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if served.Load() == 0 {
		t.Error("the server saw no request")
	}
}

func TestLoadJSONOpenModel(t *testing.T) {
	srv, _ := newLoadTestServer(t)
	var stdout, stderr bytes.Buffer
	err := cmdLoad(context.Background(), []string{"-c", "4", "-d", "1s", "-R", "200", "--body", `{"a":{seq}}`, "--json", srv.URL + "/"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep struct {
		Model        string           `json:"model"`
		Requests     int64            `json:"requests"`
		TargetRate   float64          `json:"target_rate"`
		StatusCounts map[string]int64 `json:"status_counts"`
		Latency      struct {
			Count       int64            `json:"count"`
			Percentiles map[string]int64 `json:"percentiles_us"`
			Histogram   string           `json:"hdr_histogram"`
		} `json:"latency"`
		Uncorrected struct {
			Count int64 `json:"count"`
		} `json:"uncorrected"`
		Timeline []struct {
			Requests int64 `json:"requests"`
		} `json:"timeline"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if rep.Model != "open" || rep.TargetRate != 200 || rep.Requests < 150 || rep.Requests > 210 {
		t.Errorf("model %q target %v requests %d, want open, 200, ~200", rep.Model, rep.TargetRate, rep.Requests)
	}
	if rep.StatusCounts["200"] != rep.Requests || rep.Latency.Count != rep.Requests || rep.Uncorrected.Count != rep.Requests {
		t.Errorf("statuses %v, latency count %d, uncorrected %d, want all %d", rep.StatusCounts, rep.Latency.Count, rep.Uncorrected.Count, rep.Requests)
	}
	if rep.Latency.Percentiles["p99"] <= 0 || len(rep.Timeline) == 0 {
		t.Errorf("p99 %d, timeline %d seconds", rep.Latency.Percentiles["p99"], len(rep.Timeline))
	}
	h, err := hdrhistogram.Decode([]byte(rep.Latency.Histogram))
	if err != nil || h.TotalCount() != rep.Requests {
		t.Errorf("histogram decodes to %v (%v), want %d values", h, err, rep.Requests)
	}
}
