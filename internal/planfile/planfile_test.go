package planfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testSchema is a small run command: one flag of each kind.
func testSchema() Schema {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("trials", 5, "trials per cell")
	fs.Duration("duration", 3*time.Second, "measured time per trial")
	fs.Float64("rate", 0, "open-model rate")
	fs.Int64("seed", 1, "seed")
	fs.String("servers", "", "comma-separated server IDs")
	fs.String("front", "none", "comma-separated fronts")
	fs.String("profile", "balanced", "ranking priorities")
	fs.Bool("no-probe", false, "skip the probes")
	fs.Bool("check-projection", false, "also check the projection")
	fs.String("workers", "", "processes per server")
	fs.String("shapes", "", "shapes")
	fs.String("plan", "", "plan file")
	return Schema{
		Flags:  fs,
		Lists:  map[string]bool{"servers": true, "front": true, "workers": true, "shapes": true},
		Omit:   map[string]bool{"plan": true},
		Groups: [][]string{{"workers", "shapes"}},
		Check: func(name, v string) error {
			switch name {
			case "trials":
				if n, _ := strconv.Atoi(v); n < 1 {
					return fmt.Errorf("%s: want at least 1 trial", v)
				}
			case "servers", "front":
				for _, s := range strings.Split(v, ",") {
					if s != "" && !slices.Contains([]string{"waitress", "uwsgi", "none", "varnish"}, s) {
						return fmt.Errorf("unknown %s %q", strings.TrimSuffix(name, "s"), s)
					}
				}
			case "profile":
				if v != "balanced" && v != "throughput" {
					return fmt.Errorf("unknown profile %q", v)
				}
			}
			return nil
		},
	}
}

func apply(t *testing.T, src string, given map[string]bool) (Schema, error) {
	t.Helper()
	s := testSchema()
	f, err := Parse("plan.yaml", []byte(src))
	if err != nil {
		return s, err
	}
	return s, s.Apply(f, given)
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "trials: 5\nspeed: fast\n", "plan.yaml:2:1: unknown key \"speed\""},
		{"typo suggests", "trails: 5\n", "plan.yaml:1:1: unknown key \"trails\" (did you mean trials?)"},
		{"bad duration", "trials: 3\nduration: 3x\n", "plan.yaml:2:11: duration: \"3x\" is not a duration such as 3s, 500ms or 1m30s"},
		{"duration without unit", "duration: 3\n", "plan.yaml:1:11: duration: 3 has no unit: write 3s or 3ms"},
		{"negative trials", "\n\ntrials: -3\n", "plan.yaml:3:9: trials: -3: want at least 1 trial"},
		{"trials not a number", "trials: five\n", "plan.yaml:1:9: trials: \"five\" is not a whole number"},
		{"fractional trials", "trials: 2.5\n", "plan.yaml:1:9: trials: \"2.5\" is not a whole number"},
		{"rate not a number", "rate: lots\n", "plan.yaml:1:7: rate: \"lots\" is not a number"},
		{"unknown server in list", "servers:\n  - waitress\n  - nginx-unit\n", "plan.yaml:3:5: servers: unknown server \"nginx-unit\""},
		{"unknown front", "front: squid\n", "plan.yaml:1:8: front: unknown front \"squid\""},
		{"unknown profile", "profile: fastest\n", "plan.yaml:1:10: profile: unknown profile \"fastest\""},
		{"list for a scalar", "trials: [1, 2]\n", "plan.yaml:1:9: trials: want one value, not a list"},
		{"mapping value", "trials:\n  min: 3\n", "plan.yaml:2:3: trials: want a value or a list, not a mapping"},
		{"empty value", "duration:\n", "plan.yaml:1:1: duration: no value (leave the key out for the default)"},
		{"comma in item", "servers: [\"waitress,uwsgi\"]\n", "plan.yaml:1:11: servers: \"waitress,uwsgi\": an item cannot hold a comma"},
		{"negative spelling", "no-probe: true\n", "plan.yaml:1:1: no-probe: write \"probe: false\""},
		{"bool as word", "probe: maybe\n", "plan.yaml:1:8: probe: want true or false, not \"maybe\""},
		{"bool as number", "probe: 1\n", "plan.yaml:1:8: probe: want true or false, not \"1\""},
		{"plan in a plan", "plan: other.yaml\n", "plan.yaml:1:1: plan: only on the command line"},
		{"twice", "trials: 3\nseed: 2\ntrials: 4\n", "plan.yaml:3:1: trials: given twice (first on line 1)"},
		{"not a mapping", "- trials: 3\n", "plan.yaml:1:1: a plan is a mapping of keys to values"},
		{"a bare word", "trials\n", "plan.yaml:1:1: a plan is a mapping of keys to values"},
		{"two documents", "trials: 3\n---\nseed: 2\n", "plan.yaml:3:1: a plan file holds one document"},
		{"bad yaml", "servers: [waitress\ntrials: 3\n", "plan.yaml:"},
		{"tab indentation", "servers:\n\t- waitress\n", "plan.yaml:2:"},
		{"alias", "a: &x 3\n", "plan.yaml:1:1: unknown key \"a\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apply(t, tc.src, nil)
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %q is not a *planfile.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got  %q\nwant %q…", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

func TestApplySetsFlags(t *testing.T) {
	src := `# a plan
trials: 3
duration: 1m30s
rate: 1e3
seed: 7
servers: [waitress, uwsgi]
front: varnish          # one value is a one-item list
profile: "throughput"
probe: false
check-projection: yes   # YAML 1.1 booleans are not booleans in YAML 1.2
`
	_, err := apply(t, src, nil)
	if err == nil || !strings.Contains(err.Error(), `check-projection: want true or false, not "yes"`) {
		t.Fatalf("yes as a boolean: %v", err)
	}
	s, err := apply(t, strings.Replace(src, "yes ", "true", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"trials": "3", "duration": "1m30s", "rate": "1000", "seed": "7",
		"servers": "waitress,uwsgi", "front": "varnish", "profile": "throughput", "no-probe": "true",
		"check-projection": "true"}
	for name, v := range want {
		if got := s.Flags.Lookup(name).Value.String(); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
}

// TestCommandLineWins: flags the user set override the file; flags left
// at their defaults do not.
func TestCommandLineWins(t *testing.T) {
	s := testSchema()
	if err := s.Flags.Parse([]string{"--trials", "9", "--workers", "2"}); err != nil {
		t.Fatal(err)
	}
	f, err := Parse("p.yaml", []byte("trials: 3\nseed: 4\nshapes: [4x1]\nduration: 2s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(f, Given(s.Flags)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"trials": "9", "seed": "4", "duration": "2s", "workers": "2", "shapes": ""} {
		if got := s.Flags.Lookup(name).Value.String(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestSettings(t *testing.T) {
	s, err := apply(t, "servers: [waitress]\nprobe: false\nduration: 2s\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Settings()
	want := map[string]any{"trials": int64(5), "duration": "2s", "rate": 0.0, "seed": int64(1),
		"servers": []string{"waitress"}, "front": []string{"none"}, "profile": "balanced", "probe": false,
		"check-projection": false, "workers": []string{}, "shapes": []string{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings\n got %v\nwant %v", got, want)
	}
}

// TestFormatRoundTrip: a plan written from settings reads back to them.
func TestFormatRoundTrip(t *testing.T) {
	s, err := apply(t, "servers: [waitress, uwsgi]\nprobe: false\nduration: 2s\nprofile: throughput\nrate: 12.5\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := s.Settings()
	var buf bytes.Buffer
	if err := s.Format(&buf, "written back", want, []Section{{"run", []string{"servers", "trials"}}}); err != nil {
		t.Fatal(err)
	}
	s2, err := apply(t, buf.String(), nil)
	if err != nil {
		t.Fatalf("%v in\n%s", err, buf.String())
	}
	if got := s2.Settings(); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip\n got %v\nwant %v\n%s", got, want, buf.String())
	}
}

// TestExampleParsesToDefaults: every key is in the example, and reading it
// back changes nothing.
func TestExampleParsesToDefaults(t *testing.T) {
	s := testSchema()
	var buf bytes.Buffer
	err := s.Example(&buf, Doc{Header: "an example", Sections: []Section{{"what", []string{"servers", "front"}}},
		Samples: map[string]string{"servers": "[waitress, uwsgi]"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range s.Keys() {
		if !strings.Contains(buf.String(), "\n"+k+": ") && !strings.Contains(buf.String(), "\n# "+k+": ") {
			t.Errorf("key %s missing from the example:\n%s", k, buf.String())
		}
	}
	s2, err := apply(t, buf.String(), nil)
	if err != nil {
		t.Fatalf("%v in\n%s", err, buf.String())
	}
	if got, want := s2.Settings(), testSchema().Settings(); !reflect.DeepEqual(got, want) {
		t.Errorf("example parses to\n%v\nnot the defaults\n%v", got, want)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"waitress": "waitress", "GET /items": `"GET /items"`, "": `""`, "true": `"true"`, "no": `"no"`,
		"/plaintext": "/plaintext", "127.0.0.1": "127.0.0.1", "a: b": `"a: b"`, "#x": `"#x"`,
		"capacity=3,p99=1": "capacity=3,p99=1", "5": `"5"`, "wsgibench-out": "wsgibench-out",
	} {
		if got := quote(in, false); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzParse: no input makes the parser panic, and every error is one line
// that says where.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"trials: 3\n", "servers: [a, b]\n", "a:\n  b: c\n", "- x\n", "trials: &a 3\nseed: *a\n",
		"duration: !!str 3s\n", "x: |\n  text\n", "---\n---\n", "{trials: 3, seed: 4}", "probe: false\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *planfile.Error: %v", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		s := testSchema()
		if err := s.Apply(p, nil); err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("apply error without a place: %v", err)
			}
		}
	})
}
