package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/report"
	"github.com/wsgibench/wsgibench/internal/results"
)

// cmdProbe runs only the conformance probes: what `run` does before its
// capacity search, without the load.
func cmdProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", stderr)
	var o plan.Options
	fs.StringVar(&o.Python, "python", "", "Python interpreter the servers run in (default: $VIRTUAL_ENV's python, else /usr/bin/python3)")
	servers := fs.String("servers", "", "comma-separated server IDs (default: every available one)")
	cases := fs.String("cases", "", "comma-separated probe IDs (default: all; see --list)")
	list := fs.Bool("list", false, "list the probes and exit")
	fs.StringVar(&o.Out, "out", "wsgibench-probe", "output directory for results.json and summary.md")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 0, "how long a server may take to answer (default 10s)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *list {
		for _, c := range probe.Cases() {
			fmt.Fprintf(stdout, "%-22s %-10s %s (%s)\n", c.ID, c.Group, c.Title, c.Ref)
		}
		return nil
	}
	if ids := splitList(*cases); len(ids) > 0 {
		for _, id := range ids {
			i := slices.IndexFunc(probe.Cases(), func(c probe.Case) bool { return c.ID == id })
			if i < 0 {
				return fmt.Errorf("--cases: no probe %q (see wsgibench probe --list)", id)
			}
			o.ProbeCases = append(o.ProbeCases, probe.Cases()[i])
		}
	}
	o.Servers = splitList(*servers)
	o.ProbeOnly = true
	file, err := plan.Execute(ctx, o, stderr, version)
	if file != nil {
		if werr := results.Write(filepath.Join(o.Out, plan.ResultsName), file); werr != nil && err == nil {
			err = werr
		}
		if werr := writeReports(o.Out, file); werr != nil && err == nil {
			err = werr
		}
		fmt.Fprintln(stdout)
		report.ConformanceTable(stdout, file)
		fmt.Fprintf(stdout, "\nresults: %s\nsummary: %s\n", filepath.Join(o.Out, plan.ResultsName), filepath.Join(o.Out, "summary.md"))
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
	if len(failed) > 0 {
		return fmt.Errorf("%d servers could not be probed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}
