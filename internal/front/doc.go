// Package front runs a private reverse proxy, Varnish or nginx, in front of
// the server under test, and reads what it did.
//
// The person wsgibench is for deploys their app behind Varnish (or nginx),
// and a proxy changes the answer: it pools and reuses backend connections,
// caches what the app lets it cache, buffers or streams bodies, absorbs some
// malformed requests. So a trial "behind a front" measures the whole stack:
// the load generator talks to the front, the front to the server, and the
// results carry the front's own counters beside the server's numbers.
//
// # What runs
//
// The front serves the configuration package deploy writes for the server
// (the VCL, varnishd's -p parameters, the nginx site), so the config
// wsgibench recommends is the config it measured. Only what must differ on a
// benchmark machine is changed: loopback ports, a private working directory
// (varnishd -n, nginx's prefix, temp, pid and log paths), a small cache
// (-s malloc,64m), foreground mode (varnishd -F, nginx daemon off), and for
// nginx a stub_status location on a second, loopback-only port.
//
// Each front runs under package proc like a server: its own reaper,
// subreaper and parent-death guard, the run's tag, so nothing of it outlives
// wsgibench, even when wsgibench is killed with SIGKILL.
//
// # Counters
//
// [Front.Snapshot] reads the counters at an instant (varnishstat -j, or
// nginx's stub_status plus the access and error logs written since the
// start); [Fill] turns two snapshots and the front's CPU time into a
// results.Front. Only differences are meaningful.
//
// # Pinning
//
// A front is pinned like a server (Spec.CPUs). On a small machine it shares
// the server's CPUs; the results say so (results.Front.SharesCPUs), and a
// front that used ≥ 90% of its CPUs is marked bound: that trial measured the
// front.
package front
