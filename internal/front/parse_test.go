package front

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Kind
		err  string
	}{
		{"", []Kind{None}, ""},
		{"varnish", []Kind{Varnish}, ""},
		{"none, Varnish,nginx,varnish", []Kind{None, Varnish, Nginx}, ""},
		{"squid", nil, `unknown front "squid"`},
		{"varnish,", nil, `unknown front ""`},
	} {
		got, err := ParseKinds(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseVarnishstat(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"7.x", `{"version": 1, "timestamp": "x", "counters": {"MAIN.cache_hit": {"description": "d", "flag": "c", "format": "i", "value": 42}, "MAIN.uptime": {"value": 7}}}`},
		{"6.x", `{"timestamp": "x", "MAIN.cache_hit": {"description": "d", "value": 42}, "MAIN.uptime": {"value": 7}}`},
	} {
		got, err := parseVarnishstat([]byte(tc.in))
		if err != nil || got["MAIN.cache_hit"] != 42 || got["MAIN.uptime"] != 7 || len(got) != 2 {
			t.Errorf("%s: %v %v", tc.name, got, err)
		}
	}
	for _, bad := range []string{"", "{}", `{"counters": {}}`, "not json", `{"counters": 3}`} {
		if _, err := parseVarnishstat([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseStubStatus(t *testing.T) {
	in := "Active connections: 3 \nserver accepts handled requests\n 16 15 31 \nReading: 0 Writing: 1 Waiting: 2 \n"
	got, err := parseStubStatus([]byte(in))
	if want := (stubStatus{Active: 3, Accepted: 16, Handled: 15, Requests: 31}); err != nil || got != want {
		t.Errorf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "Active connections: x\na\n1 2 3", "Active connections: 1\na\n1 2", "Idle: 1\na\n1 2 3", "Active connections: 1\na\n1 -2 3"} {
		if _, err := parseStubStatus([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseStubStatus(f *testing.F) {
	f.Add([]byte("Active connections: 3 \nserver accepts handled requests\n 16 15 31 \nReading: 0 Writing: 1 Waiting: 2 \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStubStatus(b)
		if err == nil && (s.Accepted < 0 || s.Handled < 0 || s.Requests < 0) {
			t.Errorf("negative counters from %q: %+v", b, s)
		}
	})
}

func FuzzParseVarnishstat(f *testing.F) {
	f.Add([]byte(`{"version": 1, "counters": {"MAIN.cache_hit": {"value": 42}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseVarnishstat(b)
		if err == nil && len(m) == 0 {
			t.Errorf("no error and no counters from %q", b)
		}
	})
}

func TestCountLogs(t *testing.T) {
	var c results.NginxCounters
	countAccess([]byte("200 143\n200 0, 143\n502 0\n504 -\n200 -\n"), &c)
	if c.UpstreamRequests != 2 || c.Status502 != 1 || c.Status504 != 1 {
		t.Errorf("access: %+v", c)
	}
	countErrors([]byte(strings.Join([]string{
		`2026/12/03 07:35:52 [error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1`,
		`2026/12/03 07:35:52 [error] 1#1: *6 upstream timed out (110: Connection timed out) while reading response header from upstream`,
		`2026/12/03 07:35:52 [error] 1#1: *7 upstream prematurely closed connection while reading response header from upstream`,
		`2026/12/03 07:35:52 [warn] 1#1: *8 upstream server temporarily disabled while connecting to upstream`,
		`2026/12/03 07:35:52 [error] 1#1: *9 open() "/x" failed (2: No such file or directory)`,
	}, "\n")), &c)
	if c.UpstreamConnectFails != 1 || c.UpstreamTimeouts != 1 || c.UpstreamErrors != 1 {
		t.Errorf("errors: %+v", c)
	}
}

func TestRefusalLine(t *testing.T) {
	vcc := []string{"Could not delete 'vcl_boot/vgc.sym'", "Error:", "Message from VCC-compiler:", "Symbol not found: 'foo'",
		"At: ('/tmp/x.vcl' Line 3 Pos 16) -- (Pos 18)", "sub vcl_recv { foo; }", "Running VCC-compiler failed, exited with 2", "VCL compilation failed"}
	for _, tc := range []struct {
		kind  Kind
		lines []string
		want  string
	}{
		{Varnish, vcc, "Symbol not found: 'foo' ('/tmp/x.vcl' Line 3 Pos 16) -- (Pos 18)"},
		{Nginx, []string{`2026/12/03 07:31:07 [emerg] 10630#10630: unknown directive "foo" in /tmp/c.conf:4`}, `[emerg] unknown directive "foo" in /tmp/c.conf:4`},
		{Nginx, []string{"nginx: [emerg] bind() to 127.0.0.1:80 failed (98: Address in use)"}, "[emerg] bind() to 127.0.0.1:80 failed (98: Address in use)"},
		{Varnish, []string{"", "Error: Could not get socket 127.0.0.1:1: Permission denied", ""}, "Error: Could not get socket 127.0.0.1:1: Permission denied"},
		{Varnish, []string{"something odd", ""}, "something odd"},
	} {
		if got := refusal(tc.kind, tc.lines, nil); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.kind, got, tc.want)
		}
	}
}

func TestVarnishParams(t *testing.T) {
	in := "[Service]\nExecStart=\nExecStart=/usr/sbin/varnishd -j unix -F -a :6081 -s malloc,256m -p backend_idle_timeout=4 -p x=y\n"
	if got := varnishParams(in); !reflect.DeepEqual(got, []string{"backend_idle_timeout=4", "x=y"}) {
		t.Errorf("%v", got)
	}
}

func TestParseVersion(t *testing.T) {
	if v := parseVersion("varnishd (varnish-7.1.1 revision 7cee1c5)\n", "varnish-"); v != "7.1.1" {
		t.Errorf("varnish %q", v)
	}
	if v := parseVersion("nginx version: nginx/1.22.1\n", "nginx/"); v != "1.22.1" {
		t.Errorf("nginx %q", v)
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    results.Front
		want []string
	}{
		{"clean", results.Front{Varnish: &results.VarnishCounters{ClientRequests: 10, BackendReuse: 5}}, nil},
		{"busy", results.Front{Varnish: &results.VarnishCounters{BackendBusy: 7, FetchFailed: 9}},
			[]string{"varnish answered 7 requests with 503 at once", "2 more varnish fetches failed"}},
		{"nginx", results.Front{Nginx: &results.NginxCounters{Accepted: 3, Handled: 2, Status502: 4, UpstreamErrors: 4}},
			[]string{"nginx answered 4 requests with 502 and 0 with 504", "nginx dropped 1 client connections"}},
	} {
		got := Warnings(tc.r)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q", tc.name, got)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("%s: %q, want it to start %q", tc.name, got[i], tc.want[i])
			}
		}
	}
}

func TestUpstreamAttempts(t *testing.T) {
	for _, tc := range []struct {
		log  string
		want int64
	}{
		{"", 0},
		{"400 -\n", 0},                 // nginx answered itself
		{"200 143\n", 1},               // passed and answered
		{"502 0\n", 1},                 // passed; the server closed without a byte
		{"200 0, 143\n", 2},            // a failed attempt, then a retry
		{"200 -\n400 -\n200 143\n", 1}, // only one of three reached the server
		{"  200 143  \n\n499 -\n", 1},  // blank and padded lines
		{"garbage\n", 0},               // no upstream field
	} {
		if got := upstreamAttempts([]byte(tc.log)); got != tc.want {
			t.Errorf("upstreamAttempts(%q) = %d, want %d", tc.log, got, tc.want)
		}
	}
}
