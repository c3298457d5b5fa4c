"""Drive a WSGI app in-process, the way a server would, for the tests."""

import io
import json
import os
import sqlite3
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator


class Response(object):
    def __init__(self, status, headers, body, errors):
        self.status_line = status
        self.status = int(status.split()[0])
        self.header_list = headers
        self.headers = dict((k.lower(), v) for k, v in headers)
        self.body = body
        self.errors = errors

    @property
    def content_type(self):
        return self.headers.get("content-type")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%s %r>" % (self.status_line, self.body[:200])


def call(app, method, path, query="", body=None, chunked=False, content_length=None, validate=True):
    """Call app once. body: bytes, or anything else to send as JSON.

    chunked: no CONTENT_LENGTH, wsgi.input_terminated set (a de-chunking
    server). content_length overrides the header (for lying clients).
    """
    env = {}
    setup_testing_defaults(env)
    env["REQUEST_METHOD"] = method
    env["PATH_INFO"] = path
    env["QUERY_STRING"] = query
    errors = env["wsgi.errors"] = io.StringIO()
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        env["wsgi.input"] = io.BytesIO(data)
        env["CONTENT_TYPE"] = "application/json"
        if chunked:
            env["wsgi.input_terminated"] = True
        else:
            env["CONTENT_LENGTH"] = str(len(data))
    if content_length is not None:
        env["CONTENT_LENGTH"] = content_length
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers
        return lambda data: None

    wrapped = validator(app) if validate else app
    it = wrapped(env, start_response)
    try:
        out = b"".join(it)
    finally:
        if hasattr(it, "close"):
            it.close()
    return Response(got["status"], got["headers"], out, errors.getvalue())


_pg = None  # (pid, connection) for db_rows on PostgreSQL


def db_rows(sql, params=()):
    """Run one query on the app's database from outside the app (what the
    tests check it wrote): PostgreSQL when WSGIBENCH_DSN is set, else the
    SQLite file in WSGIBENCH_DB. SQL uses ? placeholders for both."""
    dsn = os.environ.get("WSGIBENCH_DSN")
    if dsn:
        import wsgibench_app

        global _pg
        if _pg is None or _pg[0] != os.getpid():  # one connection per process, never across fork
            _pg = (os.getpid(), wsgibench_app.pg_connect(dsn))
        cur = _pg[1].cursor()
        try:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchall()
        finally:
            cur.close()
    c = sqlite3.connect(os.environ["WSGIBENCH_DB"])
    try:
        return c.execute(sql, params).fetchall()
    finally:
        c.close()
