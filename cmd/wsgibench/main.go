// Command wsgibench tells which WSGI server to run a Python app on, and
// proves it: it detects the installed servers, runs each around the app on
// loopback under load, measures throughput, latency, memory and CPU, and
// writes a results file that reports are rendered from.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsgibench/wsgibench/internal/proc"
)

func main() {
	proc.Main() // when re-executed as a process-tree reaper, runs it and exits
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errHelp) {
		err = nil
	}
	if err != nil {
		if !errors.Is(err, errUsageShown) {
			fmt.Fprintln(os.Stderr, "wsgibench:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsageShown means the usage text was already printed; errHelp that help
// was asked for and shown, which is not a failure.
var (
	errUsageShown = errors.New("usage")
	errHelp       = errors.New("help shown")
)

// exitCode is 2 for usage errors, 130 after Ctrl-C, 1 otherwise.
func exitCode(err error) int {
	switch {
	case errors.Is(err, errUsageShown):
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	}
	return 1
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"servers", "list the WSGI servers wsgibench knows and which are installed", cmdServers},
		{"run", "benchmark servers around an app and write results.json + summary.md", cmdRun},
		{"check", "is an app portable across WSGI servers: PEP 3333, and safe under processes, threads and greenlets (also part of run)", cmdCheck},
		{"plan", "write, check or recover a plan file: everything one run needs (run --plan FILE)", cmdPlan},
		{"probe", "check servers' HTTP/1.1 and PEP 3333 conformance (also part of run)", cmdProbe},
		{"trouble", "make trouble (slow clients, a hung request, a killed worker) and measure who copes (also part of run)", cmdTrouble},
		{"load", "load-test one URL on loopback, wrk-style", cmdLoad},
		{"scenario", "print the example scenario file (--example) or check one", cmdScenario},
		{"report", "re-render summary.md and report.html from a results.json without re-running", cmdReport},
		{"compare", "show what changed between two results files, benchstat-style", cmdCompare},
		{"version", "print the version", cmdVersion},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errUsageShown
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wsgibench <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'wsgibench <command> -h' for a command's flags")
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "wsgibench %s\n", version)
	return nil
}

var flagErrHelp = flag.ErrHelp
