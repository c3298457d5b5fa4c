package results

// Front is the reverse proxy a trial's load went through (Varnish or nginx
// started by wsgibench in front of the server), with what it did during the
// measured interval. A trial measured directly has none.
//
// The counters are differences between a snapshot taken just before the
// measured interval and one just after it, so warm-up traffic and the
// readiness probes do not count.
type Front struct {
	Name    string `json:"name"`    // "varnish" or "nginx"
	Version string `json:"version"` // as the binary reports it: "7.1.1"
	// Connection is how the front reached the server, the way that server's
	// experts deploy it: "http keep-alive", "http, one connection per
	// request", "uwsgi protocol", "http over a unix socket".
	Connection string `json:"connection"`
	// ConnectionNote says why the connection differs from the usual one
	// for this server, when it does (e.g. gunicorn over TCP because the
	// adapter cannot bind a unix socket yet).
	ConnectionNote string `json:"connection_note,omitempty"`

	CPUs []int `json:"cpus,omitempty"` // the front was pinned to these; nil = not pinned
	// SharesCPUs: the front ran on the server's CPUs, so the two compete
	// and the server's numbers include the front's cost.
	SharesCPUs bool `json:"shares_cpus"`
	// CPUSeconds is the front's whole process tree during the measured
	// interval, beside the server's Trial.CPUSeconds.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUUse is CPUSeconds over the CPU time its CPUs offered during the
	// interval (1 = all of them busy all the time).
	CPUUse float64 `json:"cpu_use"`
	// Bound means the front used ≥ 90% of its CPU share: the trial measured
	// the front, not the server, and is not ranked on throughput.
	Bound bool `json:"front_bound"`

	// ServerRequests is how many requests the front passed to the server
	// during the interval, and ServerRPS that over the interval: with a
	// cache in front, the load the server actually carried.
	ServerRequests int64   `json:"server_requests"`
	ServerRPS      float64 `json:"server_rps"`
	// HitRatio is cache hits over cacheable lookups (hits + misses); nil
	// when the front does not cache or nothing was looked up.
	HitRatio *float64 `json:"hit_ratio,omitempty"`
	// ReuseRatio is backend requests sent over an already open connection,
	// over all backend requests: whether front-to-server keep-alive works.
	// Nil when the front cannot tell (nginx) or sent nothing.
	ReuseRatio *float64 `json:"reuse_ratio,omitempty"`

	Varnish *VarnishCounters `json:"varnish,omitempty"`
	Nginx   *NginxCounters   `json:"nginx,omitempty"`
}

// VarnishCounters are varnishstat's MAIN counters (named in the comments)
// that tell what Varnish absorbed and how it used its backend connections.
type VarnishCounters struct {
	ClientRequests int64 `json:"client_requests"`  // MAIN.client_req
	CacheHits      int64 `json:"cache_hits"`       // MAIN.cache_hit
	CacheMisses    int64 `json:"cache_misses"`     // MAIN.cache_miss
	CacheHitPass   int64 `json:"cache_hitpass"`    // MAIN.cache_hitpass: remembered uncacheable
	Passes         int64 `json:"passes"`           // MAIN.s_pass: sent to the server uncached (writes, no-store)
	BackendReqs    int64 `json:"backend_requests"` // MAIN.backend_req
	// Backend connections: opened (MAIN.backend_conn), reused for another
	// request (MAIN.backend_reuse), handed back to the pool after a
	// response (MAIN.backend_recycle), failed to connect (MAIN.backend_fail),
	// refused because max_connections was reached (MAIN.backend_busy), and
	// not attempted because the health probe marked it sick
	// (MAIN.backend_unhealthy).
	BackendConn      int64 `json:"backend_conn"`
	BackendReuse     int64 `json:"backend_reuse"`
	BackendRecycle   int64 `json:"backend_recycle"`
	BackendFail      int64 `json:"backend_fail"`
	BackendBusy      int64 `json:"backend_busy"`
	BackendUnhealthy int64 `json:"backend_unhealthy"`
	BackendRetry     int64 `json:"backend_retry"` // MAIN.backend_retry: resent on a fresh connection
	// FetchFailed are fetches that ended in Varnish's own 503
	// (MAIN.fetch_failed); Synth are all responses Varnish made up itself
	// (MAIN.s_synth), e.g. 400s for requests it refused.
	FetchFailed int64 `json:"fetch_failed"`
	Synth       int64 `json:"synth"`
	Client400   int64 `json:"client_req_400"` // MAIN.client_req_400: requests Varnish refused as malformed
	Bans        int64 `json:"bans_added"`     // MAIN.bans_added: invalidations by writes
}

// NginxCounters are nginx's stub_status counters (differences over the
// interval, Active at its end) and what its logs say about the upstream.
type NginxCounters struct {
	Accepted int64 `json:"accepted"` // client connections accepted
	Handled  int64 `json:"handled"`  // client connections handled (< accepted: a limit was hit)
	Requests int64 `json:"requests"` // client requests
	Active   int64 `json:"active"`   // open client connections at the end
	// UpstreamRequests are requests passed to the server (access log
	// entries with an upstream status).
	UpstreamRequests int64 `json:"upstream_requests"`
	// From the error log: upstream timeouts, connect failures and other
	// upstream errors (reset, closed prematurely, no live upstreams).
	UpstreamTimeouts     int64 `json:"upstream_timeouts"`
	UpstreamConnectFails int64 `json:"upstream_connect_fails"`
	UpstreamErrors       int64 `json:"upstream_errors"`
	// Status502/504 are the gateway errors nginx answered itself.
	Status502 int64 `json:"status_502"`
	Status504 int64 `json:"status_504"`
}
