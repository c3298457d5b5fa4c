package results

// Racing records how a racing plan spent its trials (see package plan's
// race.go and the rank package doc): every cell got First trials, then
// contenders got Round more per round up to the plan's Trials, and after
// each round a cell significantly and substantially behind the leader on
// Metric stopped getting trials.
type Racing struct {
	First     int     `json:"first"`      // trials every cell gets
	Round     int     `json:"round"`      // trials per contender per later round
	Looks     int     `json:"looks"`      // rounds after which the rule is applied
	Alpha     float64 `json:"alpha"`      // family error rate per challenger, over all looks
	MinEffect float64 `json:"min_effect"` // least shortfall that stops a cell (0.10 = 10% behind)
	Metric    string  `json:"metric"`     // the evidence raced on: rps, p99, memory, …
	// Named are the servers the user asked for by name: measured in full
	// (capacity, trouble) whether or not they stay in the race.
	Named []string `json:"named,omitempty"`
	// Ended says why the race ended before its last look, when it did:
	// the time budget could not cover another round (package plan,
	// deadline.go). The runs still in it are the contenders.
	Ended string `json:"ended,omitempty"`
}

// Stop is why a racing plan gave a run no more trials. A run without one
// got every trial it was due, or failed (Run.Error).
type Stop struct {
	After  int    `json:"after_trials"`
	Reason string `json:"reason"` // a sentence: "stopped after 3 trials: behind …"
	// Behind, when the run was outpaced, is the leader's run key, and
	// Ratio [Lo, Hi] this run's value over the leader's pair by pair, with
	// the one-sided P of the look's Test.
	Behind string  `json:"behind,omitempty"`
	Metric string  `json:"metric,omitempty"`
	Ratio  float64 `json:"ratio,omitempty"`
	Lo     float64 `json:"lo,omitempty"`
	Hi     float64 `json:"hi,omitempty"`
	P      float64 `json:"p,omitempty"`
	Test   string  `json:"test,omitempty"`
}

// NotMeasured is a measurement a plan chose not to make for a server or
// run (a capacity search, the trouble scenarios), and why: the reports say
// so instead of leaving a blank that reads as a failure.
type NotMeasured struct {
	Server string `json:"server"`
	Run    string `json:"run,omitempty"` // the run's key, when per run
	What   string `json:"what"`          // "capacity search", "trouble scenarios"
	Why    string `json:"why"`
}
