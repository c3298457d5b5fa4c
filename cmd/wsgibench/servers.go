package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/wsgibench/wsgibench/internal/server"
)

// serverInfo is one line of `servers --json`.
type serverInfo struct {
	ID        string `json:"id"`
	Available bool   `json:"available"`
	Version   string `json:"version"`
	Model     string `json:"model"`
	Language  string `json:"language"`
	Reason    string `json:"reason"`
	Note      string `json:"note,omitempty"`
}

func cmdServers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("servers", stderr)
	python := fs.String("python", "", "Python interpreter to detect servers for (default: $VIRTUAL_ENV's, else /usr/bin/python3)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d, statuses, err := server.Detect(ctx, *python)
	if err != nil {
		return err
	}
	var infos []serverInfo
	for _, s := range statuses {
		note := s.Adapter.Note
		if s.Adapter.DevOnly != "" {
			note = "NOT FOR PRODUCTION: " + s.Adapter.DevOnly
		}
		infos = append(infos, serverInfo{ID: s.Adapter.ID, Available: s.Available, Version: s.Version,
			Model: string(s.Adapter.Model), Language: s.Adapter.Language, Reason: s.Reason, Note: note})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	fmt.Fprintf(stdout, "Python: %s (%s %s)\n\n", d.Python.Executable, d.Python.Implementation, d.Python.Version)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tAVAILABLE\tVERSION\tMODEL\tWRITTEN IN\tNOTE")
	n := 0
	for _, i := range infos {
		avail, note := "yes", i.Note
		if !i.Available {
			avail, note = "no", i.Reason
		} else {
			n++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, avail, i.Version, i.Model, i.Language, note)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d of %d servers available\n", n, len(infos))
	return nil
}

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wsgibench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// newFlagSetUsage is newFlagSet for a subcommand whose -h prints a
// paragraph on what it does before its flags.
func newFlagSetUsage(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet(name, stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and rejects stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return errUsageShown
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
