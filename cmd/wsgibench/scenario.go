package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/workload"
)

const scenarioUsage = `usage: wsgibench scenario --example > my.yaml
       wsgibench scenario FILE.yaml

A scenario file names the requests your app gets: independent requests picked
by weight, and flows, sequences one connection runs in order, whose steps may
capture a value from a response (a JSON field or a regex group) for the later
steps ({var:NAME}). --example prints the bundled crud scenario, documented; with
a FILE, the file is checked and a few requests it would send are shown. Run one
with 'wsgibench run --scenario FILE' or 'wsgibench load --scenario FILE URL'.

flags:
`

// cmdScenario is the "scenario" subcommand.
func cmdScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSetUsage("scenario", scenarioUsage, stderr)
	example := fs.Bool("example", false, "print the bundled crud scenario file")
	sample := fs.Int("n", 8, "with FILE: how many rendered requests to show")
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return errUsageShown
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case *example && len(files) == 0:
		_, err := stdout.Write(workload.Example())
		return err
	case *example || len(files) != 1:
		return fmt.Errorf("scenario: want --example, or one FILE to check (see wsgibench scenario -h)")
	}
	w, err := workload.FromFile(files[0])
	if err != nil {
		return err
	}
	s := w.Scenario
	fmt.Fprintf(stdout, "%s: scenario %q, %d requests, %d flows\n", files[0], s.Name, len(s.Requests), len(s.Flows))
	reqs, err := load.RenderSample(w.Mix, "127.0.0.1:8000", 1, *sample)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		line, _, _ := strings.Cut(r, "\r\n")
		fmt.Fprintf(stdout, "  %s\n", strings.TrimSuffix(line, " HTTP/1.1"))
	}
	return nil
}
