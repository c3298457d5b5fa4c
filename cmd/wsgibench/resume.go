package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/results"
)

// resumeOptions loads the options of the interrupted run in dir into o,
// then lays the flags given on the command line over them (args are
// parsed again), and returns the stored options to check them against.
func resumeOptions(fset *flag.FlagSet, args []string, dir string, o *plan.Options, given map[string]bool) (plan.Options, error) {
	if given["out"] && filepath.Clean(o.Out) != filepath.Clean(dir) {
		return plan.Options{}, fmt.Errorf("--resume %s continues the run in that directory; leave out --out %s", dir, o.Out)
	}
	path := filepath.Join(dir, plan.ResultsName)
	f, err := results.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return plan.Options{}, fmt.Errorf("--resume %s: there is no %s to resume from", dir, path)
	}
	if err != nil {
		return plan.Options{}, fmt.Errorf("--resume: %w", err)
	}
	if f.Complete {
		return plan.Options{}, fmt.Errorf("--resume %s: that run finished; nothing to resume (wsgibench report %s re-renders it)", dir, path)
	}
	stored, err := plan.ResumeOptions(f, path)
	if err != nil {
		return plan.Options{}, fmt.Errorf("--resume: %w", err)
	}
	stored.Out = dir
	*o = stored
	if err := fset.Parse(args); err != nil {
		return plan.Options{}, errUsageShown
	}
	o.Out, o.Resume = dir, f
	return stored, nil
}

// optionFlags names the flag that sets each option, for messages.
var optionFlags = map[string]string{
	"Servers": "servers", "Shapes": "workers/--threads", "Workloads": "workload", "Duration": "duration",
	"Warmup": "warmup", "Connections": "connections", "Rate": "rate", "Trials": "trials", "Seed": "seed",
	"App": "app", "DB": "db", "DBDSN": "db-dsn", "DBLatency": "db-latency", "Chdir": "chdir", "Host": "host",
	"Port": "port", "ReadyPath": "ready-path", "ReadyTimeout": "ready-timeout", "Timeout": "timeout",
	"LatencyGoal": "latency-goal", "NoCapacity": "no-capacity", "NoProbe": "no-probe", "NoTrouble": "no-trouble",
	"TroubleRepeat": "trouble-repeat", "TroubleScenarios": "trouble-cases", "TargetCPUs": "target-cpus",
	"NoCeiling": "no-ceiling", "CheckProjection": "check-projection", "CapacityProbe": "capacity-probe",
	"Fronts": "front", "Profile": "profile", "Python": "python",
}

// sameOptions refuses a resume whose options differ from the stored ones,
// naming the first that does.
func sameOptions(stored, o plan.Options, dir string) error {
	diffs := plan.DiffOptions(stored, o)
	if len(diffs) == 0 {
		return nil
	}
	name := diffs[0]
	flagName, ok := optionFlags[name]
	if !ok {
		flagName = strings.ToLower(name)
	}
	now := reflect.ValueOf(o).FieldByName(name).Interface()
	was := reflect.ValueOf(stored).FieldByName(name).Interface()
	return fmt.Errorf("--resume %s: --%s %v is not the interrupted run's %v; leave it out to continue that run as planned", dir, flagName, now, was)
}
