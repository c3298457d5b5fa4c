"""Drive a WSGI app in-process, the way a server would, for the tests."""

import io
import json
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
