package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/planfile"
	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/workload"
)

// runSchema is what a plan file may say: run's flags (package planfile).
func runSchema(fs *flag.FlagSet) planfile.Schema {
	return planfile.Schema{
		Flags: fs,
		Lists: map[string]bool{"servers": true, "workers": true, "threads": true, "shapes": true,
			"workload": true, "trouble-cases": true, "front": true},
		Omit:   map[string]bool{"plan": true, "resume": true},
		Groups: [][]string{{"shapes", "workers", "threads"}, {"db", "db-dsn"}},
		Check:  checkRunFlag,
	}
}

// checkRunFlag holds a run flag's value to the rules its type does not
// know, the same for the command line and a plan file, so that a typo
// fails before anything starts instead of silently meaning a default.
func checkRunFlag(name, v string) error {
	count := func(least int, what string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < least {
			return fmt.Errorf("%s: want %s", v, what)
		}
		return nil
	}
	dur := func(positive bool) error {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return fmt.Errorf("%q is not a duration such as 3s", v)
		case positive && d <= 0:
			return fmt.Errorf("%s: want more than 0", v)
		case d < 0:
			return fmt.Errorf("%s: cannot be negative", v)
		}
		return nil
	}
	trim := func(err error) error {
		if err == nil {
			return nil
		}
		return errors.New(strings.TrimPrefix(err.Error(), "--"+name+": "))
	}
	switch name {
	case "trials":
		return count(0, "at least 1 trial, or 0 for the default (8 racing, 5 with --no-racing)")
	case "connections":
		return count(1, "at least 1 connection")
	case "trouble-repeat":
		return count(0, "at least 1 (each scenario runs this many times), or 0 for the default (3 for a race's contenders, else 1)")
	case "target-cpus":
		return count(0, "0 (the CPUs this machine gives the server) or more")
	case "port":
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%s: want a port from 1 to 65535, or 0 for a free one", v)
		}
	case "duration", "ready-timeout", "timeout", "latency-goal", "capacity-probe":
		return dur(true)
	case "warmup", "db-latency", "budget":
		return dur(false)
	case "rate":
		if x, err := strconv.ParseFloat(v, 64); err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Errorf("%s: want a rate in req/s, or 0 for a closed loop", v)
		}
	case "servers":
		ids := server.IDs()
		for _, s := range splitList(v) {
			if !contains(ids, s) {
				return fmt.Errorf("unknown server %q (known: %s)", s, strings.Join(ids, ", "))
			}
		}
	case "workers", "threads":
		_, err := parseInts(name, v)
		return trim(err)
	case "shapes":
		_, err := parseShapeList(v)
		return err
	case "workload":
		for _, w := range splitList(v) {
			if _, err := workload.Parse(w); err != nil {
				return err
			}
		}
	case "trouble-cases":
		_, err := pickScenarios(splitList(v))
		return err
	case "front":
		_, err := front.ParseKinds(v)
		return trim(err)
	case "profile":
		_, err := rank.ParseProfile(v)
		return err
	case "db":
		if v != "" && v != plan.DBSQLite && v != plan.DBPostgres {
			return fmt.Errorf("unknown --db %q (known: %s, %s)", v, plan.DBSQLite, plan.DBPostgres)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseShapeList reads --shapes: "5x1,2x8".
func parseShapeList(s string) ([]server.Shape, error) {
	var out []server.Shape
	for _, p := range splitList(s) {
		w, t, ok := strings.Cut(strings.ToLower(p), "x")
		wn, werr := strconv.Atoi(w)
		tn, terr := strconv.Atoi(t)
		if !ok || werr != nil || terr != nil || wn < 1 || wn > 1024 || tn < 1 || tn > 1024 {
			return nil, fmt.Errorf("%q is not a shape such as 4x1 or 2x8 (processes x threads, each 1 to 1024)", p)
		}
		out = append(out, server.Shape{Workers: wn, Threads: tn})
	}
	return out, nil
}

// planDoc lays out written plans: sections in the order a reader decides,
// and sample values for keys whose default is empty.
var planDoc = planfile.Doc{
	Header: "wsgibench plan: everything one 'wsgibench run' needs, so a comparison can be " +
		"repeated and reviewed. Run it with: wsgibench run --plan plan.yaml\n\n" +
		"Every key is the run flag of the same name (wsgibench run -h); a flag given on the " +
		"command line overrides the file. The values shown are the defaults, so a key left " +
		"out (or commented out) means the same. Lists are YAML lists: [a, b]. A flag --no-X " +
		"is the key X with the opposite value (probe: false is --no-probe).",
	Sections: []planfile.Section{
		{Title: "what to compare", Keys: []string{"servers", "shapes", "workers", "threads", "workload", "scenario",
			"app", "chdir", "python", "front"}},
		{Title: "the machine and the database", Keys: []string{"target-cpus", "db", "db-dsn", "db-latency"}},
		{Title: "how long and how hard", Keys: []string{"budget", "racing", "trials", "duration", "warmup", "connections",
			"rate", "timeout", "seed"}},
		{Title: "the verdict", Keys: []string{"profile", "latency-goal"}},
		{Title: "suites", Keys: []string{"probe", "trouble", "trouble-repeat", "trouble-cases", "capacity",
			"capacity-probe", "ceiling", "check-projection", "check"}},
		{Title: "where", Keys: []string{"out", "host", "port", "ready-path", "ready-timeout"}},
	},
	Notes: map[string]string{
		"probe":    "the HTTP/1.1 and PEP 3333 conformance probes (about 5 s per server); false skips them",
		"trouble":  "the trouble scenarios: slow clients, a hung request, a killed worker, overload, reload (about a minute per server); false skips them",
		"capacity": "the capacity search: the highest open-model rate meeting latency-goal (about 15 s per cell); false skips it",
		"ceiling":  "measure each server's parallelism ceiling, the cores it can use (about 5 s per server and shape); false skips it",
	},
	Samples: map[string]string{
		"servers": "[gunicorn-gthread, uwsgi, waitress]", "shapes": "[5x1, 2x8]", "workers": "[4]",
		"threads": "[1, 8]", "workload": "[crud]", "scenario": "crud.yaml", "app": "myapp:application",
		"chdir": "/srv/myapp", "python": "/srv/myapp/venv/bin/python", "db": "postgres",
		"db-dsn": "postgresql://bench@db.internal/bench", "ready-path": "/healthz",
		"trouble-cases": "[slow-headers, worker-killed]",
	},
}

const planUsage = `usage:
  wsgibench plan --example              print a documented plan holding every default
  wsgibench plan FILE                   check a plan file; print the plan it makes, defaults filled in
  wsgibench plan --from results.json    print the plan a run ran, as a plan file to repeat it

`

// cmdPlan writes and checks plan files (see package planfile).
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSetUsage("plan", planUsage, stderr)
	example := fs.Bool("example", false, "print a documented example plan")
	from := fs.String("from", "", "a results.json: print the plan it ran")
	var path string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		path, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	runFS, _, options := runFlagSet(io.Discard)
	schema := runSchema(runFS)
	switch {
	case *example && path == "" && *from == "":
		return schema.Example(stdout, planDoc)
	case *from != "" && path == "" && !*example:
		f, err := results.Read(*from)
		if err != nil {
			return err
		}
		if f.Plan.AsRun == nil {
			return fmt.Errorf("%s records no plan as run (it was written before plan files existed)", *from)
		}
		header := fmt.Sprintf("The plan the run in %s ran (%s), as a plan file: wsgibench run --plan FILE repeats it.",
			*from, f.Started.Format(time.RFC3339))
		if f.Plan.AsRun.PlanFile != "" {
			header += " It came from " + f.Plan.AsRun.PlanFile
			if len(f.Plan.AsRun.Flags) > 0 {
				header += " and the flags --" + strings.Join(f.Plan.AsRun.Flags, ", --")
			}
			header += "."
		}
		return schema.Format(stdout, header, f.Plan.AsRun.Settings, planDoc.Sections)
	case path != "" && !*example && *from == "":
		if err := runFS.Parse([]string{"--plan", path}); err != nil {
			return err
		}
		o, _, _, err := options(false)
		if err != nil {
			return err
		}
		return schema.Format(stdout, "The plan "+path+" makes, every default filled in.", o.AsRun.Settings, planDoc.Sections)
	}
	fs.Usage()
	return errUsageShown
}
