"""wsgibench check's Python side: is a WSGI app portable across servers?

Two uses, both stdlib-only (Python >= 3.8):

    python wsgibench_portable.py validate module:callable TIMEOUT_S < requests.json

imports the app the way a server would (the working directory first on
sys.path) and calls it once per request, serially, through
wsgiref.validate, which asserts PEP 3333 at every step (status, headers,
the iterable, close(), write(), reading wsgi.input). It prints one JSON
object: per request its status, a body digest and sample, any exception the
app raised (with its traceback's last line), and each PEP 3333 violation.
If the module cannot be imported, or a request takes longer than
TIMEOUT_S, it exits 2 with one line on stderr.

    gunicorn ... wsgibench_portable:application

serves the app named by $WSGIBENCH_CHECK_APP unchanged except for one
response header, X-Wsgibench-Pid, so the Go side can tell which worker
answered. When the module is imported (in the master, before fork, under
--preload) it notes the file descriptors the app itself opened at import
time and writes them to $WSGIBENCH_CHECK_DIR/import-<pid>.json; each worker,
at its first request, writes worker-<pid>.json naming the ones it still
holds: a connection opened at import is shared by every forked worker.
"""

import hashlib
import importlib
import io
import json
import os
import sys
import traceback
import warnings

PID_HEADER = "X-Wsgibench-Pid"


def _fail(msg):
    sys.stdout.flush()
    sys.stderr.write(" ".join(str(msg).split()) + "\n")
    sys.stderr.flush()
    os._exit(2)


def _last_line(tb_text):
    lines = [l for l in tb_text.strip().splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def load(spec, fail):
    """Import module:callable (callable may be dotted; default application)."""
    module, _, expr = spec.partition(":")
    expr = expr or "application"
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(module)
    except BaseException as e:  # ImportError, SyntaxError, SystemExit, ...
        tb = traceback.format_exc()
        fail("cannot import module %r: %s" % (module, _last_line(tb) or "%s: %s" % (type(e).__name__, e)))
    for name in expr.split("."):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            fail("%r has no attribute %r" % (spec, name))
    if not callable(obj):
        fail("%r is not callable" % spec)
    return obj


# ---------------------------------------------------------------- validate


class _Errors:
    """wsgi.errors: kept, so what the app logs there is evidence too."""

    def __init__(self):
        self.buf = io.StringIO()

    def write(self, s):
        self.buf.write(s)

    def writelines(self, seq):
        for s in seq:
            self.buf.write(s)

    def flush(self):
        pass


def environ_for(req):
    target = req["target"]
    path, _, query = target.partition("?")
    from urllib.parse import unquote

    body = req.get("body", "").encode("utf-8", "surrogateescape")
    env = {
        "REQUEST_METHOD": req["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": _Errors(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body or req["method"] in ("POST", "PUT", "PATCH"):
        env["CONTENT_LENGTH"] = str(len(body))  # as the request on the wire says
    for name, value in req.get("headers", []):
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            env["CONTENT_TYPE"] = value
        elif key == "CONTENT_LENGTH":
            env["CONTENT_LENGTH"] = value
        elif key != "HOST" or "HTTP_HOST" not in env:
            env["HTTP_" + key] = value
    return env


def _from_validate(tb):
    """Was this AssertionError raised by wsgiref.validate (a violation)
    rather than by the app's own assert?"""
    frames = traceback.extract_tb(tb)
    return bool(frames) and frames[-1].filename.replace("\\", "/").endswith("wsgiref/validate.py")


def call(app, req):
    """One request through wsgiref.validate; never raises."""
    from wsgiref.validate import validator

    out = {"status": 0, "violations": [], "error": "", "traceback": ""}
    chunks = []
    status = []

    def start_response(st, headers, exc_info=None):
        status.append(st)
        return chunks.append

    env = environ_for(req)
    errors = env["wsgi.errors"]  # the validator wraps the one in env
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            it = validator(app)(env, start_response)
            try:
                for chunk in it:
                    chunks.append(chunk)
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
        except AssertionError as e:
            if _from_validate(e.__traceback__):
                out["violations"].append(str(e) or "assertion in wsgiref.validate")
            else:
                out["traceback"] = traceback.format_exc()
                out["error"] = _last_line(out["traceback"])
        except _Timeout:
            raise
        except BaseException:
            out["traceback"] = traceback.format_exc()
            out["error"] = _last_line(out["traceback"])
        for w in caught:
            out["violations"].append("warning: %s" % w.message)
    if status:
        try:
            out["status"] = int(status[-1].split(" ", 1)[0])
        except ValueError:
            pass
    body = b"".join(c for c in chunks if isinstance(c, bytes))
    out["digest"] = hashlib.sha256(body).hexdigest()[:16]
    out["sample"] = body[:120].decode("utf-8", "replace")
    logged = errors.buf.getvalue()
    if logged and not out["error"] and "Traceback" in logged:
        out["error"] = "logged to wsgi.errors: " + _last_line(logged)
    return out


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def validate(spec, timeout):
    import signal

    reqs = json.load(sys.stdin)
    # What the app prints must not mix with the results on stdout.
    out = sys.stdout
    sys.stdout = sys.stderr
    app = load(spec, _fail)
    signal.signal(signal.SIGALRM, _alarm)
    results = []
    for r in reqs:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            results.append(call(app, r))
        except _Timeout:
            _fail("%s %s did not answer within %gs in a plain serial call" % (r["method"], r["target"], timeout))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    sys.stderr.flush()
    out.write(json.dumps({"results": results}))
    out.flush()
    os._exit(0)  # no atexit handlers or threads of the app's keep us


# ------------------------------------------------------------------ serve


def _fd_info(fd):
    """(what, flags) of an open fd, or None."""
    try:
        what = os.readlink("/proc/self/fd/%d" % fd)
        flags = 0
        with open("/proc/self/fdinfo/%d" % fd) as f:
            for line in f:
                if line.startswith("flags:"):
                    flags = int(line.split()[1], 8)
        st = os.fstat(fd)
        return what, flags, (st.st_dev, st.st_ino)
    except OSError:
        return None


def _fds():
    """The open fds, less the one listdir used to read the directory."""
    try:
        listed = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return set()
    out = set()
    for fd in listed:
        try:
            os.fstat(fd)
            out.add(fd)
        except OSError:
            pass
    return out


def _shareable(what, flags):
    """Is an fd something workers must not share: a socket (a database or
    cache connection), an event-loop handle, or a file open for writing
    that is not an append-only log?"""
    if what.startswith("socket:") or what.startswith("anon_inode:"):
        return True
    if what.startswith("/") and not what.startswith("/dev/"):
        if what.endswith((".py", ".pyc", ".so", ".zip", ".mo")):
            return False
        rw = flags & 3 != 0  # O_WRONLY or O_RDWR
        append = flags & 0o2000 != 0
        return rw and not append
    return False


_report_dir = os.environ.get("WSGIBENCH_CHECK_DIR", "")
_import_fds = {}  # fd -> [what, identity]
_noted = []


def _write(name, data):
    if not _report_dir:
        return
    path = os.path.join(_report_dir, name)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


def _note_worker():
    if _noted and _noted[0] == os.getpid():
        return
    _noted[:] = [os.getpid()]
    held = []
    for fd, (what, ident) in _import_fds.items():
        info = _fd_info(fd)
        if info and info[0] == what and list(info[2]) == ident:
            held.append({"fd": fd, "what": what})
    _write("worker-%d.json" % os.getpid(), {"pid": os.getpid(), "held": held})


def _serve_app():
    spec = os.environ.get("WSGIBENCH_CHECK_APP", "")
    if not spec:
        raise RuntimeError("WSGIBENCH_CHECK_APP is not set")

    def fail(msg):
        raise RuntimeError(msg)

    before = _fds()
    app = load(spec, fail)
    for fd in sorted(_fds() - before):
        info = _fd_info(fd)
        if info and _shareable(info[0], info[1]):
            _import_fds[fd] = [info[0], list(info[2])]
    _write("import-%d.json" % os.getpid(), {"pid": os.getpid(),
           "fds": [{"fd": fd, "what": v[0]} for fd, v in sorted(_import_fds.items())]})
    return app


if __name__ != "__main__":
    _app = _serve_app()

    def application(environ, start_response):
        _note_worker()
        pid = str(os.getpid())

        def sr(status, headers, exc_info=None):
            headers = list(headers) + [(PID_HEADER, pid)]
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return _app(environ, sr)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "validate":
        _fail("usage: wsgibench_portable.py validate module:callable TIMEOUT_S < requests.json")
    validate(sys.argv[2], float(sys.argv[3]))
