"""Answers 500 to every request, logging the traceback to wsgi.errors as
Flask does with an unhandled exception."""

import traceback


def application(environ, start_response):
    try:
        {}["user"]
    except KeyError:
        environ["wsgi.errors"].write(traceback.format_exc())
    start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"oops\n"]
