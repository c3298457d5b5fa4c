package deploy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/server"
)

// measuredTimeouts reads the server's keep-alive, request timeout and
// graceful-stop window from what the benchmark configured (Settings, then
// the command line, where the server's record says launch writes them),
// falling back to the record's default when the benchmark left a value
// alone. The record's facts are the server's behaviour, not a wish: the
// deploy tests check the keep-alive ones against the real servers
// installed here.
func measuredTimeouts(in Input, f server.Facts) Timeouts {
	r := reader{in: in}
	var t Timeouts
	if f.Deploy.Config == server.ConfigUWSGI {
		// uWSGI's limits depend on how it took HTTP (its router or
		// http11-socket), which results files from older wsgibench
		// versions differ in.
		t = uwsgiTimeouts(&r, in.Argv, f)
	} else {
		t.KeepAlive = r.limit(f.Idle.Timeout)
		t.Request = r.limit(f.Request)
		t.Graceful = r.limit(f.Graceful)
		switch f.Idle.Close {
		case server.CloseAfterResponse:
			t.KeepAlive, t.NoKeepAlive = 0, true
		case server.CloseNever:
			t.KeepAlive = 0
		}
		if f.Idle.Note != "" {
			r.note(f.Idle.Note)
		}
	}
	for _, n := range f.Notes {
		r.note(n)
	}
	t.Source = strings.Join(r.notes, "; ")
	return t
}

// reader looks values up in the measured settings, then the command line.
type reader struct {
	in    Input
	notes []string
}

func (r *reader) note(s string) { r.notes = append(r.notes, s) }

// limit reads one of the record's limits: measured where launch records
// it, else its default; a limit without a name is a fixed fact, used
// without a note.
func (r *reader) limit(l server.Limit) time.Duration {
	if l.What == "" {
		return l.D()
	}
	return r.secs(l.Key, l.Flag, l.Default, l.What)
}

// secs finds a duration in seconds: Settings[key], else the value of flag
// in Argv, else def (the server's default).
func (r *reader) secs(key, flag string, def time.Duration, what string) time.Duration {
	if v, ok := r.in.Settings[key]; ok && key != "" {
		if d, ok := parseSecs(v); ok {
			r.note(fmt.Sprintf("%s %s (measured)", what, fmtDur(d)))
			return d
		}
	}
	if v, ok := argValue(r.in.Argv, flag); ok {
		if d, ok := parseSecs(v); ok {
			r.note(fmt.Sprintf("%s %s (measured: %s)", what, fmtDur(d), flag+" "+v))
			return d
		}
	}
	if def == 0 {
		r.note(fmt.Sprintf("no %s (not set when measured)", what))
	} else {
		r.note(fmt.Sprintf("%s %s (the server's default; not changed when measured)", what, fmtDur(def)))
	}
	return def
}

// argValue finds "--flag value" or "--flag=value" in a command line.
func argValue(argv []string, flag string) (string, bool) {
	if flag == "" {
		return "", false
	}
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// parseSecs reads "5", "5.5" or "5s".
func parseSecs(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if d, err := time.ParseDuration(v); err == nil {
		return d, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// fmtDur writes whole seconds as "5s" (the VCL and nginx form) and
// anything else as Go prints it.
func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// wholeSecs rounds up to whole seconds, for configs that only take integers.
func wholeSecs(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
