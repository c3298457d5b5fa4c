// Package proc supervises the process tree of one WSGI server under test:
// start it in its own process group, wait until it answers HTTP, sample the
// memory and CPU of the whole tree, and stop it so that nothing survives.
//
// # Guarantees
//
// A benchmark run starts dozens of servers, each a tree of a master and its
// workers (gunicorn, uWSGI, Apache+mod_wsgi, ...). A single orphaned worker
// still bound to a port, or still burning CPU, silently corrupts every later
// measurement. So the package guarantees that no process of a tree outlives
// its Group, whether the Group is stopped with [Group.Stop], its context is
// cancelled (Ctrl-C), or wsgibench itself dies, even by SIGKILL.
//
// # The reaper shim
//
// [Start] does not fork the server directly. It re-executes the running
// binary (/proc/self/exe) with a hidden first argument; that copy, the
// reaper, runs in a new process group and:
//
//   - marks itself PR_SET_CHILD_SUBREAPER, so daemonizing grandchildren
//     (double fork, setsid) are re-parented to it instead of to init and
//     remain part of the tree;
//   - pins itself to [Spec.CPUs], which the server inherits;
//   - starts the server as its child, in the reaper's process group;
//   - on SIGTERM/SIGINT (a deliberate stop, or PR_SET_PDEATHSIG when
//     wsgibench dies), or when getppid() changes (polled every 200 ms, a
//     second guard against a missed death signal), sends the stop signal to
//     the server, gives it [Spec.Grace] to exit, sends SIGTERM to leftovers
//     once the server's main process is gone, SIGKILLs whatever remains in
//     its tree, its process group or carries the tag, reaps every zombie and
//     exits;
//   - when the server exits by itself, cleans up leftovers the same way and
//     reports the server's wait status and the CPU time of everything it
//     reaped.
//
// Servers must therefore run in the foreground (Apache -DFOREGROUND, no
// uWSGI --daemonize): the reaper treats the exit of the main process as the
// end of the server.
//
// Every server gets WSGIBENCH_TAG=<tag> in its environment; [Tagged] and
// [KillTagged] find processes by it, as a final sweep and for tests. A tag
// names one group: Start refuses a tag that a live group or any running
// process already carries (such as leftovers of a crashed run).
//
// # Wiring
//
// Because the reaper is the wsgibench binary itself, every binary that calls
// [Start] must call [Main] first thing, before flag parsing or anything
// else that looks at os.Args:
//
//	func main() {
//		proc.Main() // runs the reaper and exits when re-executed as one
//		...
//	}
//
// and likewise in the tests of any package that calls Start:
//
//	func TestMain(m *testing.M) {
//		proc.Main()
//		os.Exit(m.Run())
//	}
//
// Start refuses to run if Main was not called, since re-executing a binary
// that does not know the reaper argument would run the binary itself again.
//
// # Death of wsgibench
//
// PR_SET_PDEATHSIG fires when the thread that forked the child exits, not
// when the process does. Go threads normally live as long as the process, but
// a goroutine that exits while locked with runtime.LockOSThread takes its
// thread down with it. Start therefore forks every reaper from one dedicated
// goroutine that locks its thread and never returns, so the death signal
// means exactly "wsgibench died". The getppid poll covers the remaining
// window.
//
// # Measurement
//
// [Group.Usage] walks /proc for the reaper's descendants (the reaper itself
// excluded). RSS is summed from /proc/PID/stat, PSS from
// /proc/PID/smaps_rollup (RSS when unreadable). CPU is utime+stime+cutime+
// cstime of every member plus the reaper's cutime+cstime: a worker that exits
// is reaped by its parent (or, once orphaned, by the reaper), and its time
// moves into that process's cutime, so it is never lost from the total.
// The package is Linux-only; elsewhere Start returns an error.
package proc
