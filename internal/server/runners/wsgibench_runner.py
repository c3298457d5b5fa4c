"""Shared start-up for wsgibench's runner scripts.

Some servers have no command line that binds a port and sizes a thread pool
(gevent.pywsgi, eventlet.wsgi, Twisted's thread pool, tornado's
WSGIContainer, paste, werkzeug, wsgiref, bjoern, meinheld). Their runners
use only each server's public API, the way its documentation shows; this
module parses the common flags and imports the application. Stdlib only.
"""
import argparse
import importlib
import os
import sys


def parse(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--chdir", default="")
    # Each forked process binds its own SO_REUSEPORT socket (servers that
    # fork themselves and support it: tornado).
    p.add_argument("--reuse-port", action="store_true")
    p.add_argument("app", help="module:callable")
    return p.parse_args()


def load_app(args):
    if args.chdir:
        os.chdir(args.chdir)
        sys.path.insert(0, args.chdir)
    module, _, name = args.app.partition(":")
    obj = importlib.import_module(module)
    for part in (name or "application").split("."):
        obj = getattr(obj, part)
    return obj


def family(host):
    import socket
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def nodelay_listener(host, port, backlog=1024):
    """A listening socket with TCP_NODELAY, which accepted sockets inherit.

    Without it, a server that writes a response in more than one send()
    waits for the client's delayed ACK (about 40 ms on Linux) before the
    last segment: Nagle's algorithm. gunicorn sets it on its listeners;
    gevent.pywsgi and paste leave it to the caller, and an expert sets it.
    """
    import socket
    sock = socket.socket(family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock
