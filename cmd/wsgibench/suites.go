package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// cmdProbe runs only the conformance probes: what run does after its
// trials, without the load.
func cmdProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cmdSuite(ctx, "probe", args, stdout, stderr)
}

// cmdTrouble runs only the trouble scenarios.
func cmdTrouble(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cmdSuite(ctx, "trouble", args, stdout, stderr)
}

// suiteItem is a probe or a scenario, as --list and --cases see it.
type suiteItem struct{ id, group, title string }

func suiteItems(suite string) []suiteItem {
	var out []suiteItem
	if suite == "probe" {
		for _, c := range probe.Cases() {
			out = append(out, suiteItem{c.ID, string(c.Group), c.Title + " (" + c.Ref + ")"})
		}
		return out
	}
	for _, s := range trouble.Scenarios() {
		out = append(out, suiteItem{s.ID, "trouble", s.Title})
	}
	return out
}

func cmdSuite(ctx context.Context, suite string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(suite, stderr)
	var o plan.Options
	fs.StringVar(&o.Python, "python", "", "Python interpreter the servers run in (default: $VIRTUAL_ENV's python, else /usr/bin/python3)")
	servers := fs.String("servers", "", "comma-separated server IDs (default: every available one)")
	workers := fs.String("workers", "", "processes per server (default: the first default shape)")
	threads := fs.String("threads", "", "threads per process (default: the first default shape)")
	pick := fs.String("cases", "", "comma-separated IDs to run (default: all; see --list)")
	list := fs.Bool("list", false, "list them and exit")
	fs.StringVar(&o.Out, "out", "wsgibench-"+suite, "output directory for results.json, summary.md and report.html")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 0, "how long a server may take to answer (default 10s)")
	var fronts *string
	if suite == "trouble" {
		fs.IntVar(&o.TroubleRepeat, "repeat", 1, "run each scenario this many times, each on a fresh server, and keep the median")
		fronts = fs.String("front", "none", "run the scenarios through a proxy: none, varnish or nginx; a comma list runs them through each (none,varnish)")
	} else {
		fronts = fs.String("front", "none", "also probe through a proxy: varnish or nginx (a comma list: each); every case then says whether the front blocked it, normalised it or passed it on. The direct probes always run: they are what the front's effect is judged against")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.Fronts, err = front.ParseKinds(*fronts); err != nil {
		return err
	}
	items := suiteItems(suite)
	if *list {
		for _, it := range items {
			fmt.Fprintf(stdout, "%-22s %-10s %s\n", it.id, it.group, it.title)
		}
		return nil
	}
	if suite == "probe" {
		for _, id := range splitList(*pick) {
			i := slices.IndexFunc(items, func(it suiteItem) bool { return it.id == id })
			if i < 0 {
				return fmt.Errorf("--cases: no probe %q (see wsgibench probe --list)", id)
			}
			o.ProbeCases = append(o.ProbeCases, probe.Cases()[i])
		}
	} else if o.TroubleScenarios, err = pickScenarios(splitList(*pick)); err != nil {
		return fmt.Errorf("--cases: %w", err)
	}
	if o.Shapes, err = parseShapes(*workers, *threads); err != nil {
		return err
	}
	o.Servers = splitList(*servers)
	o.SuitesOnly, o.NoProbe, o.NoTrouble = true, suite != "probe", suite != "trouble"
	logw, progress, stopProgress := startProgress(stderr)
	o.Progress = progress
	file, err := plan.Execute(ctx, o, logw, version)
	stopProgress()
	if file != nil {
		if werr := results.Write(filepath.Join(o.Out, plan.ResultsName), file); werr != nil && err == nil {
			err = werr
		}
		if werr := writeReports(o.Out, file); werr != nil && err == nil {
			err = werr
		}
		suiteTables(stdout, file)
		fmt.Fprintf(stdout, "\nresults: %s\nsummary: %s\nreport:  %s\n", filepath.Join(o.Out, plan.ResultsName),
			filepath.Join(o.Out, "summary.md"), filepath.Join(o.Out, "report.html"))
	}
	if err != nil {
		return err
	}
	var failed []string
	for _, c := range file.Conformance {
		if c.Failed != "" {
			failed = append(failed, c.Server+": "+firstLine(c.Failed))
		}
	}
	for _, r := range file.Robustness {
		if r.Failed != "" {
			failed = append(failed, r.Server+": "+firstLine(r.Failed))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d servers could not be tried: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// pickScenarios looks the trouble scenarios up by ID; none given is nil,
// which means all of them.
func pickScenarios(ids []string) ([]trouble.Scenario, error) {
	var out []trouble.Scenario
	for _, id := range ids {
		i := slices.IndexFunc(trouble.Scenarios(), func(s trouble.Scenario) bool { return s.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("no trouble scenario %q (see wsgibench trouble --list)", id)
		}
		out = append(out, trouble.Scenarios()[i])
	}
	return out, nil
}
