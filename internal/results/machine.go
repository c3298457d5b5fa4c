package results

// The machine the verdict is for, as opposed to the one it was measured on.
// A user deploys on N cores; this machine may have fewer. What can be
// measured here is measured (memory at the N-core shapes, each server's
// parallelism ceiling, capacity on the CPUs the server gets); what cannot
// is projected, and every projected value says so.

// Target is the deployment the verdict is for.
type Target struct {
	// CPUs is the core count of the machine the user deploys on
	// (--target-cpus).
	CPUs int `json:"cpus"`
	// MeasuredCPUs is how many CPUs the server was pinned to for the trials
	// and the capacity search.
	MeasuredCPUs int `json:"measured_cpus"`
	// Projected is true when MeasuredCPUs < CPUs: throughput for the target
	// is projected from what was measured and each server's ceiling.
	Projected bool `json:"projected"`
	// Assumptions states how a projection was made, in words.
	Assumptions string `json:"assumptions,omitempty"`
}

// Ceiling is one server's parallelism ceiling at one shape: with every CPU
// of this machine allowed and more connections than it has workers, the
// CPU-seconds per second its whole process tree burned on the workload. A
// single process bound by the GIL stays near 1 however many cores it gets;
// a pre-forked server approaches min(processes, cores).
type Ceiling struct {
	Server   string `json:"server"`
	Shape    Shape  `json:"shape"`
	Workload string `json:"workload"`
	// CPUs the server was allowed to run on.
	CPUs        []int   `json:"cpus"`
	Connections int     `json:"connections"`
	DurationS   float64 `json:"duration_s"`
	// Cores is the tree's CPU-seconds per second.
	Cores     float64 `json:"cores"`
	RPS       float64 `json:"rps"`
	Processes int     `json:"processes"`
	// SharedWithGenerator is true when the load generator ran on the same
	// CPUs; GeneratorCores is then its share (CPU-seconds per second).
	SharedWithGenerator bool    `json:"shared_with_generator"`
	GeneratorCores      float64 `json:"generator_cores"`
	// OtherCores is CPU time the rest of the machine burned meanwhile
	// (other programs): what neither the server nor the generator could use.
	OtherCores float64 `json:"other_cores"`
	// MachineBound is true when server, generator and other load together
	// kept every allowed CPU busy: the server's own ceiling is then at
	// least Cores, and the machine, not the server, was the limit.
	MachineBound bool     `json:"machine_bound"`
	Error        string   `json:"error,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
}

// Projection is a run's throughput carried to the target's core count.
// When Projected is false the values are the measured ones.
type Projection struct {
	Projected    bool `json:"projected"`
	TargetCPUs   int  `json:"target_cpus"`
	MeasuredCPUs int  `json:"measured_cpus"`
	// Ceiling is the parallelism the projection credits the server with
	// (its measured ceiling, or its process count when the measurement
	// was limited by this machine's cores); Factor multiplies measured
	// throughput: min(target, ceiling) / min(measured, ceiling).
	Ceiling float64 `json:"ceiling"`
	Factor  float64 `json:"factor"`
	// RPS is the projected closed-loop req/s (median over trials),
	// CapacityRPS the projected capacity at the latency goal.
	RPS         float64 `json:"rps,omitempty"`
	CapacityRPS float64 `json:"capacity_rps,omitempty"`
	Assumption  string  `json:"assumption,omitempty"`
}

// ProjectionCheck validates the projection on this machine: capacity
// predicted for ToCPUs from the measurement on FromCPUs and the ceiling,
// against capacity measured on ToCPUs.
type ProjectionCheck struct {
	Server    string  `json:"server"`
	Shape     Shape   `json:"shape"`
	Workload  string  `json:"workload"`
	FromCPUs  int     `json:"from_cpus"`
	ToCPUs    int     `json:"to_cpus"`
	Measured1 float64 `json:"measured_from_rps"` // capacity on FromCPUs
	Ceiling   float64 `json:"ceiling"`
	Predicted float64 `json:"predicted_rps"`
	Measured  float64 `json:"measured_rps"` // capacity on ToCPUs
	// Error is (Predicted - Measured) / Measured.
	Error float64 `json:"error"`
	// GeneratorCores is the generator's CPU share while it shared the
	// ToCPUs with the server (which the measurement then lost to it).
	GeneratorCores float64 `json:"generator_cores"`
	// CPUMsPerKReqFrom and CPUMsPerKReqTo are the server's CPU per 1000
	// requests in the closed-loop trials on FromCPUs and in the ceiling
	// measurement on ToCPUs. The projection assumes they are equal (work
	// per request does not grow with parallelism); unlike the capacities,
	// their ratio does not depend on what else the machine was doing.
	CPUMsPerKReqFrom float64 `json:"cpu_ms_per_1k_from"`
	CPUMsPerKReqTo   float64 `json:"cpu_ms_per_1k_to"`
	// The same check on closed-loop throughput, which needs no second
	// search: the trials' median req/s on FromCPUs projected to ToCPUs
	// (PredictedRPS) against the ceiling measurement's req/s on ToCPUs
	// (MeasuredRPS). AvailableCores is what the generator and other
	// programs left the server during that measurement, and
	// PredictedAvailableRPS the projection to those cores instead: on a
	// busy machine, the comparison that tests the method rather than the
	// machine's neighbours.
	PredictedRPS          float64 `json:"predicted_closed_rps"`
	MeasuredRPS           float64 `json:"measured_closed_rps"`
	RPSError              float64 `json:"closed_error"`
	AvailableCores        float64 `json:"available_cores"`
	PredictedAvailableRPS float64 `json:"predicted_available_rps"`
	AvailableError        float64 `json:"available_error"`
	Note                  string  `json:"note,omitempty"`
}
