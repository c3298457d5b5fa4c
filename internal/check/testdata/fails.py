"""Imports, then answers every request with an exception."""


def application(environ, start_response):
    return [str(1 // 0).encode()]
