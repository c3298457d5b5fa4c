package results

// WorkerLoad is how one trial's CPU time spread over the server's worker
// processes. A pre-forked server whose connections pile onto one worker
// serves at one process's speed while the others idle, and its trials turn
// bimodal depending on where the connections landed; this is where that
// shows.
type WorkerLoad struct {
	// Workers is how many processes ran the app; Shares has one entry each.
	Workers int `json:"workers"`
	// Shares are each worker's fraction of the workers' CPU time over the
	// measured interval, busiest first; they sum to 1.
	Shares []float64 `json:"worker_cpu_shares"`
	// MainShare is the main process's fraction of the tree's CPU time
	// (gunicorn's arbiter, Apache's parent, tornado's forking parent);
	// HelperShare is that of other processes that run no app code
	// (Apache's children in front of mod_wsgi's daemons).
	MainShare   float64 `json:"main_cpu_share"`
	HelperShare float64 `json:"helper_cpu_share,omitempty"`
	// MaxOverFair is the busiest worker's share ÷ the fair share
	// 1/Workers: 1 is perfectly even, Workers means one worker did it all.
	MaxOverFair float64 `json:"max_over_fair"`
	// CV is the coefficient of variation of Shares (standard deviation ÷
	// mean, over the workers): 0 is even.
	CV float64 `json:"cv"`
	// Idle counts workers with under a tenth of the fair share.
	Idle int `json:"idle_workers"`
	// CPUSeconds is the workers' CPU time the shares are of; with too
	// little of it (the clock ticks in 10 ms) evenness is not judged.
	CPUSeconds float64 `json:"worker_cpu_seconds"`
	// Uneven marks a trial whose busiest worker did at least
	// UnevenMaxOverFair times its fair share, or in which a worker idled,
	// beyond tick noise.
	Uneven bool `json:"uneven,omitempty"`
	// Note says why evenness was not judged, when it was not.
	Note string `json:"note,omitempty"`
	// Assumed says which processes were taken for helpers without being
	// told apart (the busiest, for uWSGI's HTTP router).
	Assumed string `json:"assumed,omitempty"`
}

// UnevenMaxOverFair is the busiest worker's share, as a multiple of the
// fair share, from which a trial counts as unevenly loaded: with 3 workers,
// one doing half the work; with 2, a 75/25 split.
const UnevenMaxOverFair = 1.5

// Balance is a run's worker evenness over its trials, and what the
// server's remedy did when the run was flagged.
type Balance struct {
	// Trials had a judged WorkerLoad; Uneven of them were uneven.
	Trials int `json:"trials"`
	Uneven int `json:"uneven_trials"`
	// MedianMaxOverFair and WorstMaxOverFair are over those trials.
	MedianMaxOverFair float64 `json:"median_max_over_fair"`
	WorstMaxOverFair  float64 `json:"worst_max_over_fair"`
	// Remedy is the cell measured again with the server's remedy, when
	// it was flagged and the server offers one.
	Remedy *RemedyResult `json:"remedy,omitempty"`
}

// Flagged says whether any trial was unevenly loaded.
func (b *Balance) Flagged() bool { return b != nil && b.Uneven > 0 }

// RemedyResult compares a flagged cell's trials with trials of the same
// cell with the server's remedy applied.
type RemedyResult struct {
	// Argv is what was added to the command line.
	Argv []string `json:"argv"`
	What string   `json:"what,omitempty"`
	// Trials and Uneven are the remedy trials and how many were uneven.
	Trials int `json:"trials"`
	Uneven int `json:"uneven_trials"`
	// RPS and MaxOverFair are medians of the remedy trials; the
	// Baseline fields are the run's own (all its trials).
	RPS                 float64 `json:"rps"`
	BaselineRPS         float64 `json:"baseline_rps"`
	MaxOverFair         float64 `json:"median_max_over_fair"`
	BaselineMaxOverFair float64 `json:"baseline_median_max_over_fair"`
	// Loads are the remedy trials' worker loads.
	Loads []WorkerLoad `json:"worker_loads,omitempty"`
	// RPSChange compares the remedy trials' req/s with the run's
	// (Mann-Whitney, benchstat's notation: "~" is no significant change).
	RPSChange string `json:"rps_change"`
	// CPUs is how many CPUs the server had: on few CPUs a remedy meant for
	// many cores cannot raise throughput.
	CPUs int `json:"cpus"`
	// Helped: the remedy trials were all even where the run had uneven
	// ones, and not significantly slower.
	Helped bool `json:"helped"`
	// Verdict is one sentence on what changed.
	Verdict string `json:"verdict"`
	Error   string `json:"error,omitempty"`
}
