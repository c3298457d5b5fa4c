package results

// AsRun is the plan as run: every setting after the plan file, the
// command line and --budget were merged, in the plan file's vocabulary (the
// keys of `wsgibench plan --example`), so that `wsgibench plan --from
// results.json` writes a plan file that repeats the run.
type AsRun struct {
	PlanFile string         `json:"plan_file,omitempty"` // the --plan file, if any
	Flags    []string       `json:"flags,omitempty"`     // flags given on the command line (they override the file)
	Settings map[string]any `json:"settings"`
	// Estimate is the wall time predicted before the run; under --budget,
	// Budget and Cuts say what was left out to fit it.
	Estimate Duration `json:"estimate,omitempty"`
	Budget   Duration `json:"budget,omitempty"`
	Cuts     []string `json:"cuts,omitempty"`
}
