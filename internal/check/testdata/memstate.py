"""Deliberately fork-unsafe: items are kept in a module-level dict, so a
write lands in whichever process answered it and the other workers never
see it."""

import json
import threading

items = {}
lock = threading.Lock()
print("memstate: loaded")  # apps print; the check's own output must survive it


def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    if method == "POST":
        with lock:
            n = len(items) + 1
            items[n] = {"id": n}
        body, status = json.dumps(items[n]).encode(), "201 Created"
    else:
        with lock:
            body, status = json.dumps(sorted(items)).encode(), "200 OK"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
