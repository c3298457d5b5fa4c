"""Breaks PEP 3333: a str status code list and a bytes iterable returned
as one bytes object (servers iterate it byte by byte)."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return b"hello"
