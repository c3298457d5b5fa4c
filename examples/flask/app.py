"""A small CRUD API for items, written the way a Flask user would.

    GET    /              a health check: {"ok": true, "items": N}
    GET    /items         list (?limit=20&offset=0)
    POST   /items         create from JSON {"name", "price_cents", "qty"} -> 201 with its id
    GET    /items/<id>    read  -> 200, or 404
    PUT    /items/<id>    update from the same JSON -> 200, or 404
    DELETE /items/<id>    delete -> 204, or 404

Data lives in SQLite at $ITEMS_DB (default items.db beside this file). The
schema is created, and 50 items seeded, by the first request of whichever
process gets there first; nothing is opened at import time, so the app is
safe under servers that import it and then fork, and each request opens
its own connection (Flask's g), so it is safe under threads and greenlets.
"""

import os
import sqlite3

from flask import Flask, abort, g, jsonify, request

app = Flask(__name__)
application = app  # the name most WSGI servers look for

DB_PATH = os.environ.get("ITEMS_DB") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "items.db")
SEED = 50

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    qty INTEGER NOT NULL
)
"""

_ready = set()  # pids whose schema check is done (per process, not shared)


def db():
    if "db" not in g:
        conn = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        if os.getpid() not in _ready:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            (n,) = conn.execute("SELECT count(*) FROM items").fetchone()
            if n == 0:
                conn.executemany(
                    "INSERT INTO items (name, price_cents, qty) VALUES (?, ?, ?)",
                    [("item-%d" % i, 100 * i, i) for i in range(1, SEED + 1)],
                )
            conn.execute("COMMIT")
            _ready.add(os.getpid())
        g.db = conn
    return g.db


@app.teardown_appcontext
def close_db(exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def as_dict(row):
    return {"id": row["id"], "name": row["name"], "price_cents": row["price_cents"], "qty": row["qty"]}


def fields():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "send a JSON object")
    try:
        name = str(data["name"])
        price, qty = int(data["price_cents"]), int(data["qty"])
    except (KeyError, TypeError, ValueError):
        abort(400, "name, price_cents and qty are required")
    return name, price, qty


@app.get("/")
def health():
    (n,) = db().execute("SELECT count(*) FROM items").fetchone()
    return jsonify(ok=True, items=n)


@app.get("/items")
def list_items():
    limit = min(request.args.get("limit", 20, type=int), 100)
    offset = request.args.get("offset", 0, type=int)
    rows = db().execute("SELECT * FROM items ORDER BY id LIMIT ? OFFSET ?", (limit, offset)).fetchall()
    return jsonify([as_dict(r) for r in rows])


@app.post("/items")
def create_item():
    name, price, qty = fields()
    cur = db().execute("INSERT INTO items (name, price_cents, qty) VALUES (?, ?, ?)", (name, price, qty))
    item = {"id": cur.lastrowid, "name": name, "price_cents": price, "qty": qty}
    return jsonify(item), 201, {"Location": "/items/%d" % cur.lastrowid}


@app.get("/items/<int:item_id>")
def read_item(item_id):
    row = db().execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        abort(404)
    return jsonify(as_dict(row))


@app.put("/items/<int:item_id>")
def update_item(item_id):
    name, price, qty = fields()
    cur = db().execute("UPDATE items SET name = ?, price_cents = ?, qty = ? WHERE id = ?", (name, price, qty, item_id))
    if cur.rowcount == 0:
        abort(404)
    return jsonify({"id": item_id, "name": name, "price_cents": price, "qty": qty})


@app.delete("/items/<int:item_id>")
def delete_item(item_id):
    cur = db().execute("DELETE FROM items WHERE id = ?", (item_id,))
    if cur.rowcount == 0:
        abort(404)
    return "", 204


@app.errorhandler(400)
@app.errorhandler(404)
def json_error(err):
    return jsonify(error=err.description), err.code
