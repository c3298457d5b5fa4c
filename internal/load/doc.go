// Package load generates HTTP/1.1 load against a server on this machine and
// measures it, in the manner of wrk and wrk2.
//
// # Client
//
// The hot path speaks HTTP/1.1 directly over TCP rather than through
// net/http: each request is serialized once per template (only variables are
// rendered per request, into a reused buffer), and responses are parsed
// incrementally without allocating, so a response split at any byte is
// handled. The parser understands Content-Length and chunked bodies
// (extensions and trailers included), bodies delimited by the close,
// HEAD/204/304 responses without a body, interim 1xx responses,
// "Connection: close" and HTTP/1.0 responses without keep-alive. When the
// server closes a connection, the connection is re-established and counted
// in ConnectionsOpened, so a server without keep-alive shows up as one
// connection per request.
//
// Every request written (Result.Sent) ends in exactly one of
// Result.Requests (a response, any status), Errors.Reset, Errors.Timeout,
// Errors.Protocol, Errors.ResetOnReuse, or Result.Unfinished (still in
// flight when the run ended); the one exception is a Protocol error for
// bytes that arrive when no request is in flight. When a connection fails
// with several pipelined requests in flight, the oldest takes the failure's
// class and the rest count as Reset.
//
// One failure is not the server's: a server may close a kept-alive
// connection (its idle timeout) just as the next request is written into
// it. When a connection that has already carried a response ends, by a
// close or a reset, before any byte of the next response, each idempotent
// request in flight (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) is resent once
// on a fresh connection, as net/http's Transport and Varnish do, and
// counted in Result.IdleCloseRetries rather than as an error; it keeps its
// intended and send times, so its latency includes the reconnect. A
// non-idempotent request may have been acted on, so it is not resent and
// counts as Errors.ResetOnReuse. A request is resent at most once, and
// never after a failure on a fresh connection.
//
// The hot path is built to cost about what wrk costs per request: socket
// reads and writes are raw non-blocking system calls made inside the
// runtime poller's callbacks, and read buffers are shared, held only from a
// read until its responses are parsed, so ten thousand connections stay
// well within 200 MB.
//
// # Load models
//
// With Config.Rate zero the model is closed: each connection sends its next
// request when the previous one is answered (keeping Pipeline requests in
// flight). With a rate, the model is open: the rate is spread evenly over
// the connections on a fixed schedule, sends are timed by a timerfd rather
// than Go's millisecond-grained idle timers, and latency runs from each
// request's intended send time, so a server that stalls is charged for every
// request it kept waiting (the coordinated-omission correction of wrk2). A
// request that fell due while its connection had a free slot waited only for
// the generator's timer, so it is timed from its actual send; one that fell
// due while the server held every slot of the connection, or while the
// connection was being re-established, is timed from its schedule. The
// uncorrected view, from the actual send, is kept too. Sends that left more
// than a millisecond behind schedule, for any reason, are counted as late,
// and an achieved rate more than 1% short of the target adds a warning.
// With Config.Shared the schedule is one for the whole run rather than one
// per connection: a connection with nothing in flight takes the oldest send
// time not yet taken, as a front hands requests to its backend connections,
// so a server cannot keep some connections on schedule by starving others.
// Before writing into a connection that sat idle, the generator checks
// whether the server closed it meanwhile (a keep-alive timeout), and
// reconnects instead of losing the request.
//
// # Errors
//
//	Connect   the dial failed or was refused (retried with back-off)
//	Reset     reset, broken pipe, or closed before a complete response
//	ResetOnReuse  a POST or PATCH lost when the server closed a kept-alive
//	          connection as it was sent (idempotent ones are resent)
//	Timeout   no complete response within Config.Timeout
//	Status    a response outside 2xx to a request that names no expected
//	          status; 1xx interim responses are skipped, 3xx counts;
//	          every status is also in StatusCounts
//	Unexpected  a response whose status the request's Template.Expect
//	          does not hold (by request name and status in
//	          Result.Unexpected); an expected 404 is not an error
//	Protocol  a response that could not be parsed
//
// Responses of any status are in the latency histograms, as in wrk.
//
// # Templates
//
// A scenario is a weighted mix of Templates. Path, header values and Body
// may contain variables, rendered afresh for every request:
//
//	{rand:LO:HI}    a uniformly random integer in [LO, HI], e.g. /items/{rand:1:10000}
//	{seq}           1, 2, 3, ... counting requests across all connections of the run
//	{choice:a|b|c}  one of the choices, at random
//	{var:NAME}      in a flow's step: the value an earlier step captured
//
// Only these spellings start a variable; other braces, as in JSON bodies,
// are sent as written, while a malformed "{rand:" is an error. A template
// whose path, headers and body hold no variable is serialized once and
// sent from those bytes: the zero-allocation path.
//
// # Flows
//
// A Template with Steps is a flow. When a connection picks it from the
// mix, the connection sends its steps in order, each after the previous
// step's response, then picks again. A step's Capture takes a value from
// its response body (a JSON field path, or a regular expression's first
// group) for {var:NAME} in the later steps of the same flow instance; the
// values live with the connection, so concurrent instances never mix. A
// captured value is percent-encoded in a path and sent as is in headers
// and bodies; one holding control characters counts as not found. An
// instance stops early when a step fails, gets a status it does not expect
// or a capture finds nothing (Result.CaptureMisses), since its later steps
// would act on nothing; Result.Flows counts instances started, completed
// and stopped early. In the open model a flow's next step is sent at its
// connection's next scheduled send: the rate stays a rate of requests, and
// a step whose previous response came late is timed from its schedule like
// any request its connection held back. Flows need pipeline depth 1.
//
// Preflight sends every request once, and runs each flow once, before a
// run, and names the first one answered with an unexpected status or whose
// capture finds nothing. Each
// connection draws from its own random stream seeded from Config.Seed and
// the connection's index, so for a seed every connection sends the same
// sequence of requests in every run. A request with a body carries
// Content-Length computed from the rendered body.
//
// # Measurements
//
// Latencies are recorded in microseconds into per-connection sparse
// HdrHistograms (1 µs to one hour, 3 significant figures) merged at the end
// into dense ones; NewHistogram makes histograms of the same geometry, so
// results of several trials merge. The timeline holds, per second of
// completion time, responses, errors and the corrected p99.
//
// The generator watches itself: it measures its own CPU time over the run
// and compares it with the CPUs in its affinity mask times the elapsed time.
// At 90% or more, Result.GeneratorBound is set and a warning says the
// numbers may describe the generator rather than the server. PinSelf
// restricts the whole process to given CPUs.
package load
