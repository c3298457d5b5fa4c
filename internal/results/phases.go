package results

// Phases is where one trial's wall-clock time went, in seconds. Only
// Measure is evidence; the rest is the fixed cost every trial pays on a
// freshly started server, which decides how many trials fit in the time a
// user has. Files written before it was recorded have none.
type Phases struct {
	// DB is giving the server a fresh copy of the seeded database (a
	// file copy for SQLite, a clone for PostgreSQL).
	DB float64 `json:"db_s"`
	// Start is from launching the server to its main process existing;
	// Ready from then until it answered the readiness probe with all its
	// workers up.
	Start float64 `json:"start_s"`
	Ready float64 `json:"ready_s"`
	// Front is starting the proxy in front of it, when there is one.
	Front   float64 `json:"front_s,omitempty"`
	Warmup  float64 `json:"warmup_s"`
	Measure float64 `json:"measure_s"`
	// Stop is stopping the server (and front) until no process is left.
	Stop float64 `json:"stop_s"`
	// Total is the whole trial, from before the database copy to after
	// the stop; what is not in a phase above is bookkeeping.
	Total float64 `json:"total_s"`
}

// Fixed is the trial's cost besides the measured interval.
func (p Phases) Fixed() float64 { return p.Total - p.Measure }
