package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wsgibench/wsgibench/internal/report"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

const compareUsage = `usage: wsgibench compare [--alpha 0.05] old.json new.json

Shows what changed between two results files, per server, shape and
workload, the way benchstat does: old and new medians with their 95%
confidence intervals, the change, and the Mann-Whitney p-value; "~" where
the trials cannot show a difference at alpha. Runs in only one file are
listed as such.

flags:
`

// cmdCompare is the "compare" subcommand.
func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSetUsage("compare", compareUsage, stderr)
	alpha := fs.Float64("alpha", stats.Alpha, "significance level of the tests")
	// Flags may come before, between or after the two files.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flagErrHelp) {
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
	if len(files) != 2 {
		return fmt.Errorf("compare: want two results files, old and new (got %d)\n%s", len(files), strings.SplitN(compareUsage, "\n", 2)[0])
	}
	if !(*alpha > 0 && *alpha < 1) {
		return fmt.Errorf("compare: --alpha %v is not between 0 and 1", *alpha)
	}
	old, err := results.Read(files[0])
	if err != nil {
		return err
	}
	cur, err := results.Read(files[1])
	if err != nil {
		return err
	}
	return report.Compare(stdout, files[0], old, files[1], cur, *alpha)
}
