"""wsgibench's conformance probe app: stdlib-only, any Python >= 3.8.

wsgibench serves this app (wsgibench_probe:application) on each server it
checks for HTTP/1.1 and PEP 3333 conformance. Each endpoint shows the probe
what the server handed the application, so a probe can tell how the server
framed a request, not only whether it answered:

  /plaintext                 readiness
  /probe/echo[/...]          reads the body; JSON of the environ as the app saw it
  /probe/unread              answers without reading the body
  /probe/readmore            reads CONTENT_LENGTH + 4096 bytes (must stop at EOF)
  /probe/lines               counts the body's lines via readline() and iteration
  /probe/write               answers through the legacy write() callable
  /probe/nolength            a body in chunks with no Content-Length
  /probe/close?token=T       an iterable whose close() leaves a mark for T
  /probe/closed?token=T      "yes" if T's close() was called, else "no"
  /probe/error               raises before start_response
  /probe/error-after         yields a chunk, then raises
  /probe/smuggled            answers SMUGGLED: a request no client sent whole
  /probe/sleep?ms=N          waits N ms (at most 60 s): a hung request, for the
                             trouble suite

WSGIBENCH_PROBE_DIR names a directory the close() marks go to, shared by
every process of the server.
"""

import hashlib
import json
import os
import sys
import time

SMUGGLED = b"SMUGGLED"

# PEP 3333: keys every environ must have, and of which type.
_REQUIRED_STR = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "SERVER_NAME",
                 "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.url_scheme")
_BOOLS = ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")


def environ_problems(environ):
    """What in environ breaks PEP 3333, as short phrases: (problems with
    what every app relies on, oddities in keys apps rarely read)."""
    problems, oddities = [], []
    for key in _REQUIRED_STR:
        if key not in environ:
            problems.append("%s missing" % key)
        elif type(environ[key]) is not str:
            problems.append("%s is %s, not str" % (key, type(environ[key]).__name__))
    cl = environ.get("CONTENT_LENGTH", "")
    if isinstance(cl, str) and cl and not cl.isdigit():
        problems.append("CONTENT_LENGTH %r is not a number" % cl)
    if environ.get("wsgi.version") != (1, 0):
        problems.append("wsgi.version is %r, not (1, 0)" % (environ.get("wsgi.version"),))
    if environ.get("wsgi.url_scheme") not in ("http", "https"):
        problems.append("wsgi.url_scheme is %r" % (environ.get("wsgi.url_scheme"),))
    for key in _BOOLS:
        if key not in environ:
            problems.append("%s missing" % key)
        elif not isinstance(environ[key], bool) and environ[key] not in (0, 1):
            problems.append("%s is %r, not a bool" % (key, environ[key]))
    inp = environ.get("wsgi.input")
    if inp is None:
        problems.append("wsgi.input missing")
    else:
        for m in ("read", "readline", "readlines", "__iter__"):
            if not hasattr(inp, m):
                problems.append("wsgi.input has no %s" % m)
    err = environ.get("wsgi.errors")
    if err is None:
        problems.append("wsgi.errors missing")
    else:
        for m in ("write", "writelines", "flush"):
            if not hasattr(err, m):
                problems.append("wsgi.errors has no %s" % m)
    for key, value in environ.items():
        # As wsgiref.validate checks: every key is a str, and every value
        # of a key without a dot (CGI's and the server's own) too.
        if type(key) is not str:
            problems.append("environ key %r is not str" % (key,))
        elif "." not in key and key not in _REQUIRED_STR and type(value) is not str:
            where = problems if key in ("QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH") or key.startswith("HTTP_") else oddities
            where.append("%s is %s, not str" % (key, type(value).__name__))
    return problems, oddities


def _content_length(environ):
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_body(environ):
    """The body as a conformant app reads it: up to CONTENT_LENGTH, or until
    EOF when the server announced none (a chunked body, say)."""
    inp = environ["wsgi.input"]
    n = _content_length(environ)
    if n > 0:
        chunks = []
        while n > 0:
            b = inp.read(min(n, 65536))
            if not b:
                break
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)
    if environ.get("CONTENT_LENGTH") in (None, "") and (
            environ.get("HTTP_TRANSFER_ENCODING") or environ.get("wsgi.input_terminated")):
        # Read to EOF in sized reads: PEP 3333's read() takes a size.
        chunks = []
        while True:
            b = inp.read(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    return b""


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _text(start_response, text, status="200 OK"):
    body = text if isinstance(text, bytes) else text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _echo(environ, start_response):
    body = _read_body(environ)
    headers = {k: v for k, v in environ.items() if k.startswith("HTTP_") and isinstance(v, str)}
    problems, oddities = environ_problems(environ)
    return _json(start_response, {
        "method": environ.get("REQUEST_METHOD"),
        "script_name": environ.get("SCRIPT_NAME"),
        "path_info": environ.get("PATH_INFO"),
        "query_string": environ.get("QUERY_STRING"),
        "content_length": environ.get("CONTENT_LENGTH"),
        "protocol": environ.get("SERVER_PROTOCOL"),
        "headers": headers,
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "problems": problems,
        "oddities": oddities,
    })


def _mark_dir(environ):
    return os.environ.get("WSGIBENCH_PROBE_DIR") or environ.get("WSGIBENCH_PROBE_DIR") or "/tmp"


def _token(environ):
    for part in environ.get("QUERY_STRING", "").split("&"):
        k, _, v = part.partition("=")
        if k == "token" and v.isalnum() and len(v) <= 64:
            return v
    return None


class _Closing:
    """A response iterable whose close() leaves a mark on disk."""

    def __init__(self, path):
        self.path = path

    def __iter__(self):
        yield b"close me"

    def close(self):
        with open(self.path, "w") as f:
            f.write("closed")


def _error_after(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first part of a response that never finishes\n"
    raise RuntimeError("wsgibench probe: failure after the headers were sent")


def _version_file():
    return os.path.join(_mark_dir({}), "version")


def _read_version():
    try:
        with open(_version_file()) as f:
            return f.read().strip()
    except OSError:
        return "0"


# The code version this process imported: a graceful reload that really
# loads new code makes new processes read what /probe/version?set= wrote.
VERSION = _read_version()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/plaintext":
        return _text(start_response, b"Hello, World!")
    if path == "/probe/echo" or path.startswith("/probe/echo/"):
        return _echo(environ, start_response)
    if path == "/probe/unread":
        return _text(start_response, b"not read")
    if path == "/probe/readmore":
        n = _content_length(environ)
        got = environ["wsgi.input"].read(n + 4096)
        return _json(start_response, {"asked": n + 4096, "got": len(got)})
    if path == "/probe/lines":
        # readline() until CONTENT_LENGTH is used up: iterating to EOF
        # would also test reading past the body, which readmore does.
        inp, left, lines = environ["wsgi.input"], _content_length(environ), []
        while left > 0:
            line = inp.readline()
            if not line:
                break
            lines.append(line)
            left -= len(line)
        return _json(start_response, {"lines": len(lines),
                                      "ok": all(l.endswith(b"\n") for l in lines)})
    if path == "/probe/write":
        write = start_response("200 OK", [("Content-Type", "text/plain"),
                                          ("Content-Length", "11")])
        write(b"written ")
        return [b"ok\n"]
    if path == "/probe/nolength":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"part-%d;" % i for i in range(10)]
    if path == "/probe/close":
        token = _token(environ)
        if token is None:
            return _text(start_response, b"token?", "400 Bad Request")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "8")])
        return _Closing(os.path.join(_mark_dir(environ), "closed-" + token))
    if path == "/probe/closed":
        token = _token(environ)
        if token is None:
            return _text(start_response, b"token?", "400 Bad Request")
        done = os.path.exists(os.path.join(_mark_dir(environ), "closed-" + token))
        return _text(start_response, b"yes" if done else b"no")
    if path == "/probe/error":
        raise RuntimeError("wsgibench probe: failure before start_response")
    if path == "/probe/error-after":
        return _error_after(start_response)
    if path == "/probe/sleep":
        ms = 0
        for part in environ.get("QUERY_STRING", "").split("&"):
            k, _, v = part.partition("=")
            if k == "ms" and v.isdigit():
                ms = min(int(v), 60000)
        time.sleep(ms / 1000.0)  # looked up now, so monkey-patching applies
        return _text(start_response, b"slept")
    if path == "/probe/version":
        # ?set=TOKEN records the version the next import will load; the
        # answer is always the version this process loaded.
        token = None
        for part in environ.get("QUERY_STRING", "").split("&"):
            k, _, v = part.partition("=")
            if k == "set" and v.isalnum() and len(v) <= 64:
                token = v
        if token is not None:
            tmp = _version_file() + ".tmp"
            with open(tmp, "w") as f:
                f.write(token)
            os.replace(tmp, _version_file())
        return _text(start_response, VERSION)
    if path == "/probe/smuggled":
        sys.stderr.write("wsgibench probe: a smuggled request reached the app\n")
        return _text(start_response, SMUGGLED)
    return _text(start_response, b"no such probe endpoint", "404 Not Found")


def _uncached(app):
    """Every answer is a fresh observation of the server: a cache in front
    (Varnish through wsgibench's --front) must pass each request on."""
    def wrapped(environ, start_response):
        def no_store(status, headers, exc_info=None):
            return start_response(status, list(headers) + [("Cache-Control", "no-store")], exc_info)
        return app(environ, no_store)
    return wrapped


application = _uncached(application)
app = application
