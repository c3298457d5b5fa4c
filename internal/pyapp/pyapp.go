// Package pyapp carries wsgibench's reference WSGI application and the
// Python helpers that go with it, embedded so the binary is self-contained.
//
// The app (module [Module], callable [Callable]) is a small CRUD service on
// SQLite, or on PostgreSQL when [EnvDSN] is set, plus the TechEmpower tests (/plaintext, /json, /db, /queries,
// /fortunes, /updates) and two knobs for shaping load, /sleep and /cpu. It is
// stdlib-only Python (>= 3.8) so it runs inside whatever interpreter and
// virtualenv the server under test uses; see app/wsgibench_app.py for the
// endpoint list.
//
// A run goes:
//
//	Write(dir)                        // the .py files
//	Seed(ctx, python, dir, template)  // once per run
//	CopyDB(template, perServerDB)     // before each server start
//	Check(ctx, python, dir, chdir, spec)
//
// and starts the server with cwd or PYTHONPATH at dir and [EnvDB] pointing
// at its copy of the database. On PostgreSQL, SeedPostgres fills a template
// database once and package pgsql clones it per server start; [EnvDSN]
// names the clone. Giving every server start its own copy keeps
// one server's writes from changing what the next one is measured on.
//
// The app opens its database connections lazily, one per (process, thread
// or greenlet), and never at import time. Servers import the app in one
// process and fork workers from it (gunicorn --preload, uWSGI, mod_wsgi), and
// a SQLite connection carried across fork corrupts locking state, so the
// per-thread storage is keyed by pid and a forked worker always starts with
// no connections.
package pyapp

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed app/*.py
var files embed.FS

const (
	// Module is the import name of the reference app.
	Module = "wsgibench_app"
	// Callable is the WSGI callable in Module; "app" is an alias for it.
	Callable = "application"
	// Spec is Module:Callable, the form servers and Check take.
	Spec = Module + ":" + Callable

	// EnvDB names the environment variable holding the SQLite path. The
	// app reads it per process at the first request, not at import.
	EnvDB = "WSGIBENCH_DB"
	// EnvDSN holds a libpq connection string; when set, the app uses
	// PostgreSQL (psycopg 3, else psycopg2) instead of EnvDB.
	EnvDSN = "WSGIBENCH_DSN"

	// ProbeSpec is the conformance probe app (package probe) as
	// module:callable, and EnvProbeDir the variable naming the directory
	// its close() marks go to.
	ProbeSpec   = "wsgibench_probe:application"
	EnvProbeDir = "WSGIBENCH_PROBE_DIR"

	seedScript  = "wsgibench_seed.py"
	checkScript = "wsgibench_check.py"
)

// checkTimeout bounds Check. Importing a large app (Django with its
// settings) on a cold disk takes seconds; twenty means it is stuck.
var checkTimeout = 20 * time.Second

// Write puts the embedded Python files into dir (created if needed), mode
// 0644, replacing older copies so a stale app never survives an upgrade.
func Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing python app: %w", err)
	}
	entries, err := fs.ReadDir(files, "app")
	if err != nil {
		return fmt.Errorf("writing python app: %w", err)
	}
	for _, e := range entries {
		data, err := files.ReadFile("app/" + e.Name())
		if err != nil {
			return fmt.Errorf("writing python app: %w", err)
		}
		dst := filepath.Join(dir, e.Name())
		if err := writeFile(dst, bytes.NewReader(data), 0o644); err != nil {
			return fmt.Errorf("writing python app: %w", err)
		}
	}
	return nil
}

// Files lists the names Write creates.
func Files() []string {
	entries, _ := fs.ReadDir(files, "app")
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

// Seed creates the database at dbPath with the seeder Write put in dir,
// run by python (the interpreter of the server under test is fine; the
// seeder is stdlib-only). It takes well under a second. The result is a
// single self-contained file in WAL mode: the seeder checkpoints the WAL
// and closes before renaming the file into place, so CopyDB can copy just
// the main file.
func Seed(ctx context.Context, python, dir, dbPath string) error {
	script := filepath.Join(dir, seedScript)
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("seeding %s: %w (call pyapp.Write first)", dbPath, err)
	}
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return fmt.Errorf("seeding %s: %w", dbPath, err)
	}
	cmd := command(ctx, python, script, abs)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if line := lastLine(stderr.String()); line != "" {
			return fmt.Errorf("seeding %s with %s: %w: %s", dbPath, python, err, line)
		}
		return fmt.Errorf("seeding %s with %s: %w", dbPath, python, err)
	}
	return nil
}

// SeedPostgres fills the empty PostgreSQL database dsn names with the same
// rows Seed writes, through the driver the app will use, and returns that
// driver ("psycopg 3.1.7"). The DSN travels in the environment, not on
// the command line, so its password never shows in ps. A Python without
// psycopg or psycopg2 fails here, before any server starts.
func SeedPostgres(ctx context.Context, python, dir, dsn string) (string, error) {
	script := filepath.Join(dir, seedScript)
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("seeding postgres: %w (call pyapp.Write first)", err)
	}
	cmd := command(ctx, python, script, "--postgres")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), EnvDSN+"="+dsn, "PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if line := lastLine(stderr.String()); line != "" {
			return "", fmt.Errorf("seeding with %s: %s", python, strings.TrimPrefix(line, "wsgibench_seed: postgres: "))
		}
		return "", fmt.Errorf("seeding with %s: %w", python, err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// CopyDB gives a server start its own copy of a seeded database. Any -wal
// and -shm files left beside dst by an earlier run are removed first: SQLite
// would replay a stale WAL into the fresh copy. A template with a non-empty
// WAL of its own is refused, since its main file alone is not the whole
// database.
func CopyDB(src, dst string) error {
	if fi, err := os.Stat(src + "-wal"); err == nil && fi.Size() > 0 {
		return fmt.Errorf("copying database %s: it has an uncheckpointed WAL (%s); seed it again", src, src+"-wal")
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying database: %w", err)
	}
	defer in.Close()
	for _, p := range []string{dst + "-wal", dst + "-shm", dst + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("copying database to %s: %w", dst, err)
		}
	}
	if err := writeFile(dst, in, 0o644); err != nil {
		return fmt.Errorf("copying database %s: %w", src, err)
	}
	return nil
}

// CheckError is a bad app spec as the checker worded it, in one line such
// as "cannot import module 'nosuch': No module named 'nosuch'".
type CheckError struct {
	Spec string
	Msg  string
}

func (e *CheckError) Error() string { return e.Msg }

// Check imports spec ("module:callable") with python, in chdir with
// PYTHONPATH as in this process's environment, and reports a *CheckError if
// the module does not import or the callable is missing or not callable.
// Starting a server on a bad spec often fails late and unreadably (gunicorn
// workers crash-loop, uWSGI serves 500s); this fails in a second with one
// line. dir is where Write put the checker; it is kept off sys.path. An
// import that takes more than 20 s is reported as hanging.
func Check(ctx context.Context, python, dir, chdir, spec string) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	cmd := command(ctx, python, filepath.Join(dir, checkScript), spec)
	cmd.Dir = chdir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	line := lastLine(stderr.String())
	if parent.Err() != nil {
		return fmt.Errorf("checking app %s: %w", spec, parent.Err())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("checking app %s: importing it took longer than %v (does the module block at import?)", spec, checkTimeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 && line != "" {
		return &CheckError{Spec: spec, Msg: line}
	}
	if line != "" {
		return fmt.Errorf("checking app %s with %s: %w: %s", spec, python, err, line)
	}
	return fmt.Errorf("checking app %s with %s: %w", spec, python, err)
}

// command runs a helper in its own process group so that cancelling ctx
// also stops anything the user's module started at import time.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// writeFile writes via a temporary file and rename, so a reader (or a
// server starting concurrently) never sees half a file.
func writeFile(dst string, r io.Reader, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
