// Package deploy turns the recommended server, at the shape and settings
// wsgibench measured it with, into configuration a person can copy to a
// production machine: the server's own config file (gunicorn.conf.py,
// uwsgi.ini, an Apache vhost for mod_wsgi, a start-up script for the rest), a
// systemd unit, the proxy in front (varnish.vcl plus a varnishd drop-in, and
// an nginx alternative) and a README that says what each file is and which
// measured numbers it rests on.
//
// The numbers are the point. A benchmark only predicts production when
// production runs what was benchmarked, so every value that was measured is
// carried over unchanged and labelled as measured; values the benchmark did
// not exercise (the shutdown signal, the proxy's timeouts) are derived from
// the measured ones and say how.
//
// The proxy settings follow one rule chain, which is why they are computed
// here rather than left to a template:
//
//   - The proxy must drop an idle backend connection before the server does.
//     A server that closes an idle keep-alive connection at the moment the
//     proxy picks it for the next request makes that request fail (Varnish
//     answers 503, nginx 502). Varnish retries on a fresh connection only
//     when it can resend the request, which it cannot once a request body
//     has been streamed: the failed request is typically a CRUD write.
//     So Varnish's backend_idle_timeout (and nginx's upstream
//     keepalive_timeout) is set below the server's keep-alive.
//   - The proxy must wait for a response at least as long as the server
//     lets a request run (first_byte_timeout ≥ the request timeout), or it
//     gives up on requests the server is still working on, and a retry
//     doubles the load exactly when the server is slowest.
//   - The proxy's connection cap (max_connections, max_conns) lets through
//     every request the server can still answer within the latency goal
//     (its capacity at the goal × the goal, by Little's law; without a
//     capacity search, the concurrency it was measured serving) and no
//     fewer than twice what it runs at once. Varnish and open-source nginx
//     keep no queue behind the cap, so a tighter one turns a load the
//     server handles into 503s; past it, overload fails fast at the proxy
//     instead of growing the kernel's backlog.
//
// Everything deploy knows about a particular server comes from its record,
// server.Facts: its limits and their defaults, its pool, how systemd stops
// it, which config file it gets, how a front reaches it. This package keeps
// no table or switch of servers, so a new adapter with a complete record is
// deployable (TestAddingAServerIsOneRecord), and TestRunnersMatchDeploy keeps
// each serve_*.py.tmpl setting what its benchmark runner set.
//
// Generate writes the files; FromResults builds its Input from a results
// file, so configs re-render from results without re-running anything.
package deploy
