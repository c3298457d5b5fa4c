"""Deliberately thread-unsafe: the current request lives in a module
global, as in code that keeps "the request" in a plain global instead of a
thread-local. Alone every answer is right; with two requests in flight one
answers with the other's id."""

import json
import time

current = {}


def application(environ, start_response):
    current["id"] = environ["PATH_INFO"].rsplit("/", 1)[-1]
    time.sleep(0.002)  # a query's worth of waiting
    body = json.dumps({"id": current["id"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
