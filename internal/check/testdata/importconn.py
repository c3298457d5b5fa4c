"""Deliberately fork-unsafe: the database connection is opened at import
time. A server that imports the app and then forks (gunicorn --preload,
uWSGI, mod_wsgi) hands every worker the same SQLite handle, which SQLite
forbids: its locks are per process."""

import json
import os
import sqlite3
import tempfile

_path = os.path.join(os.environ.get("IMPORTCONN_DIR") or tempfile.gettempdir(), "importconn-%d.db" % os.getpid())
db = sqlite3.connect(_path, check_same_thread=False, isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS hits (n INTEGER)")


def application(environ, start_response):
    (n,) = db.execute("SELECT count(*) FROM hits").fetchone()
    body = json.dumps({"hits": n}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
