"""Deliberately greenlet-unsafe: /slow waits in C (libc usleep through
ctypes, as a database driver written in C waits on its socket), where
gevent's monkey-patching cannot reach. Threads overlap such waits; one
gevent loop runs them one after another."""

import ctypes
import ctypes.util

libc = ctypes.CDLL(ctypes.util.find_library("c"))


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        libc.usleep(100000)
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [body]
