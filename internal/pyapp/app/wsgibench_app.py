"""wsgibench reference application: a small CRUD app plus TechEmpower-style tests.

A plain PEP 3333 application that only uses the standard library, so it runs
unchanged under every server wsgibench drives and on any Python >= 3.8.

Environment
-----------
WSGIBENCH_DB   path of the SQLite database made by wsgibench_seed.py (required).
               Also read from the WSGI environ, for servers such as mod_wsgi
               whose SetEnv only reaches the request environ.
WSGIBENCH_DSN  a libpq connection string (postgresql://... or key=value pairs):
               use PostgreSQL instead of SQLite, through psycopg (3) if this
               Python has it, else psycopg2. Takes precedence over
               WSGIBENCH_DB; the schema is the one wsgibench_seed.py --postgres
               creates. WSGIBENCH_PG_DRIVER=psycopg|psycopg2 picks one.

Endpoints
---------
GET    /                      small JSON index (handy as a readiness probe)
GET    /items?limit=&offset=  {"items": [...], "limit": n, "offset": n}
POST   /items                 {"name", "price_cents", "qty"} -> 201 item
GET    /items/{id}            item or 404
PUT    /items/{id}            any of name/price_cents/qty -> 200 item or 404
DELETE /items/{id}            204 or 404
GET    /plaintext             Hello, World!
GET    /json                  {"message": "Hello, World!"}
GET    /db                    one random world row
GET    /queries?n=            n (1..500) random world rows
GET    /fortunes              HTML table of fortunes
GET    /updates?n=            n (1..500) world rows updated in one transaction
GET    /sleep?ms=             time.sleep (I/O to monkey-patching servers)
GET    /cpu?us=               burn that many microseconds of thread CPU time

HEAD is accepted wherever GET is and answered like werkzeug does: same
headers, empty body.
"""

import datetime
import html
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
import traceback
from http import HTTPStatus
from urllib.parse import parse_qs

__all__ = ["application", "app", "make_store", "SQLiteStore", "PostgresStore", "pg_connect", "pg_driver"]

WORLD_ROWS = 10000  # wsgibench_seed.py always seeds exactly this many
MAX_QUERIES = 500
MAX_BODY = 1 << 20
MAX_SLEEP_MS = 60000
MAX_CPU_US = 10000000
BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 5  # after busy_timeout has already waited, retry this often

EXTRA_FORTUNE = "Additional fortune added at request time."

# Caching, the way a CRUD app tells a cache in front (Varnish, nginx) what it
# may keep: an item read for a few seconds (a proxy that bans the item on PUT
# and DELETE keeps reads correct; see internal/front), the fortunes page a
# little longer; everything else, errors included, never (a 404 for an item
# created a moment later, or /db's random row, must not be replayed).
CACHE_ITEM = "public, max-age=5"
CACHE_FORTUNES = "public, max-age=10"
CACHE_NEVER = "no-store"

_STATUS = dict((s.value, "%d %s" % (s.value, s.phrase)) for s in HTTPStatus)


class HTTPError(Exception):
    def __init__(self, code, message, headers=()):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.headers = list(headers)


class ConfigError(Exception):
    """The app is deployed wrongly (e.g. no database configured)."""


class Busy(Exception):
    """The database stayed locked through busy_timeout and all retries."""


def _is_busy(exc):
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _now():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def _item(row):
    return {
        "id": row[0],
        "name": row[1],
        "price_cents": row[2],
        "qty": row[3],
        "updated_at": row[4],
    }


_ITEM_COLS = "id, name, price_cents, qty, updated_at"

# The SQL both stores run, with SQLite's ? placeholders; PostgresStore
# swaps them for %s, so the two cannot drift apart.
SQL_GET_ITEM = "SELECT " + _ITEM_COLS + " FROM items WHERE id = ?"
SQL_LIST_ITEMS = "SELECT " + _ITEM_COLS + " FROM items ORDER BY id LIMIT ? OFFSET ?"
SQL_INSERT_ITEM = "INSERT INTO items (name, price_cents, qty, updated_at) VALUES (?, ?, ?, ?)"
SQL_UPDATE_ITEM = "UPDATE items SET %s, updated_at = ? WHERE id = ?"  # %s: "col = ?, ..."
SQL_DELETE_ITEM = "DELETE FROM items WHERE id = ?"
SQL_GET_WORLD = "SELECT id, randomnumber FROM world WHERE id = ?"
SQL_UPDATE_WORLD = "UPDATE world SET randomnumber = ? WHERE id = ?"
SQL_FORTUNES = "SELECT id, message FROM fortune"


class _PerThread(object):
    """Lazily opened connections, one per (process, thread or greenlet).

    * never at import time, so a server that imports the app in a master
      process and then forks (gunicorn --preload, uWSGI without lazy-apps)
      hands the workers no connection at all;
    * the thread-local is keyed by os.getpid(): a connection must not be
      used across fork (SQLite's locks, or a PostgreSQL session whose
      socket the parent shares), and a forked child keeps its parent's
      thread-local contents, so a child that sees another pid starts over.
      The parent's connections are kept referenced (not closed) in the
      child, because closing them there is not safe either (for
      PostgreSQL it would end the parent's session);
    * threading.local is looked up when first needed rather than at import,
      so after gevent/eventlet monkey-patching it is greenlet-local and two
      greenlets never interleave statements on one connection.
    """

    def __init__(self):
        self._slot = None  # (pid, threading.local); swapped whole, no lock
        self._inherited = []  # slots from a parent process, never closed

    def _local(self):
        pid = os.getpid()
        slot = self._slot
        if slot is None or slot[0] != pid:
            if slot is not None:
                self._inherited.append(slot)
            slot = (pid, threading.local())
            self._slot = slot
        return slot[1]

    def conn(self):
        local = self._local()
        c = getattr(local, "conn", None)
        if c is None:
            c = self._connect()
            local.conn = c
        return c

    def forget(self):
        """Drop this thread's connection (after it broke); the next call reconnects."""
        local = self._local()
        c = getattr(local, "conn", None)
        local.conn = None
        if c is not None:
            try:
                c.close()
            except Exception:
                pass

    def owner_pid(self):
        """The pid the current connections belong to (for tests)."""
        slot = self._slot
        return slot[0] if slot else None


class SQLiteStore(_PerThread):
    """All database access of the app, on SQLite.

    The methods are the whole contract: PostgresStore provides the same
    methods with the same SQL. Connections come from _PerThread;
    check_same_thread stays at its default (True), which would catch any
    mistake there.
    """

    kind = "sqlite"

    def __init__(self, path):
        _PerThread.__init__(self)
        self.path = path

    def _connect(self):
        if not os.path.exists(self.path):
            raise ConfigError("database %r does not exist (run wsgibench_seed.py)" % self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000.0, isolation_level=None)
        # The seeder set journal_mode=WAL once; it is persistent in the file.
        conn.execute("PRAGMA busy_timeout = %d" % BUSY_TIMEOUT_MS)
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    # transactions

    def _write(self, fn):
        """Run fn(conn) in one BEGIN IMMEDIATE transaction.

        IMMEDIATE takes the write lock up front, so busy_timeout applies to
        it; a deferred transaction that later upgrades to a write can fail
        with SQLITE_BUSY straight away. Whatever still comes back busy is
        retried a few times with a short, jittered pause.
        """
        conn = self.conn()
        for attempt in range(WRITE_ATTEMPTS):
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result
            except sqlite3.OperationalError as e:
                if not _is_busy(e):
                    raise
                if attempt == WRITE_ATTEMPTS - 1:
                    raise Busy(str(e))
                time.sleep(0.005 * (attempt + 1) + random.random() * 0.01)
        raise Busy("database is locked")

    def _read(self, sql, params=()):
        conn = self.conn()
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as e:
                if not _is_busy(e):
                    raise
                if attempt == WRITE_ATTEMPTS - 1:
                    raise Busy(str(e))
                time.sleep(0.005 * (attempt + 1))
        raise Busy("database is locked")

    # items

    def get_item(self, item_id):
        rows = self._read(SQL_GET_ITEM, (item_id,))
        return _item(rows[0]) if rows else None

    def list_items(self, limit, offset):
        rows = self._read(SQL_LIST_ITEMS, (limit, offset))
        return [_item(r) for r in rows]

    def create_item(self, name, price_cents, qty):
        ts = _now()

        def tx(conn):
            cur = conn.execute(SQL_INSERT_ITEM, (name, price_cents, qty, ts))
            return cur.lastrowid

        new_id = self._write(tx)
        return {"id": new_id, "name": name, "price_cents": price_cents, "qty": qty, "updated_at": ts}

    def update_item(self, item_id, fields):
        sql, params = _update_item_sql(item_id, fields)

        def tx(conn):
            cur = conn.execute(sql, params)
            if cur.rowcount == 0:
                return None
            row = conn.execute(SQL_GET_ITEM, (item_id,)).fetchone()
            return _item(row)

        return self._write(tx)

    def delete_item(self, item_id):
        return self._write(lambda conn: conn.execute(SQL_DELETE_ITEM, (item_id,)).rowcount > 0)

    # TechEmpower tables

    def get_world(self, world_id):
        rows = self._read(SQL_GET_WORLD, (world_id,))
        return {"id": rows[0][0], "randomNumber": rows[0][1]} if rows else None

    def update_worlds(self, worlds):
        """worlds: list of {"id", "randomNumber"}; one transaction."""
        params = [(w["randomNumber"], w["id"]) for w in worlds]
        self._write(lambda conn: conn.executemany(SQL_UPDATE_WORLD, params))

    def fortunes(self):
        return [(r[0], r[1]) for r in self._read(SQL_FORTUNES)]


def _update_item_sql(item_id, fields):
    cols = sorted(fields)  # only name, price_cents, qty get here (_item_fields)
    sql = SQL_UPDATE_ITEM % ", ".join("%s = ?" % c for c in cols)
    return sql, [fields[c] for c in cols] + [_now(), item_id]


def pg_driver():
    """(name, module) of the PostgreSQL driver: psycopg 3 if this Python has
    it, else psycopg2; WSGIBENCH_PG_DRIVER=psycopg2 insists on one.
    Imported with the app when WSGIBENCH_DSN is set (see _preload_driver),
    else on first use."""
    want = os.environ.get("WSGIBENCH_PG_DRIVER", "")
    if want not in ("", "psycopg", "psycopg2"):
        raise ConfigError("WSGIBENCH_PG_DRIVER must be psycopg or psycopg2, not %r" % want)
    if want in ("", "psycopg"):
        try:
            import psycopg

            return "psycopg", psycopg
        except ImportError:
            if want:
                raise ConfigError("WSGIBENCH_PG_DRIVER=psycopg but this Python has no psycopg")
    try:
        import psycopg2

        return "psycopg2", psycopg2
    except ImportError:
        if want:
            raise ConfigError("WSGIBENCH_PG_DRIVER=psycopg2 but this Python has no psycopg2")
        raise ConfigError("WSGIBENCH_DSN is set but this Python has neither psycopg (3) nor psycopg2 "
                          "(Debian: python3-psycopg; pip install psycopg)")


def pg_connect(dsn):
    """An autocommit connection: reads are single statements, and writes
    open their own transaction (BEGIN ... COMMIT), as on SQLite."""
    name, mod = pg_driver()
    if name == "psycopg":
        return mod.connect(dsn, autocommit=True)
    conn = mod.connect(dsn)
    conn.autocommit = True
    return conn


def _pg(sql):
    return sql.replace("?", "%s")


# SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
_PG_RETRY = frozenset(["40001", "40P01"])


def _sqlstate(exc):
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


class PostgresStore(_PerThread):
    """SQLiteStore's methods on PostgreSQL, with the same SQL.

    Differences are the driver's, not the app's: %s placeholders, INSERT
    ... RETURNING id for the new id, and transactions retried on
    deadlock/serialization failures instead of SQLite's busy lock. A
    connection that broke is dropped so the thread's next request opens a
    new one.
    """

    kind = "postgres"

    def __init__(self, dsn):
        _PerThread.__init__(self)
        self.dsn = dsn

    def _connect(self):
        return pg_connect(self.dsn)

    def _run(self, fn, transaction):
        conn = self.conn()
        name, mod = pg_driver()
        for attempt in range(WRITE_ATTEMPTS):
            cur = conn.cursor()
            try:
                if transaction:
                    cur.execute("BEGIN")
                    try:
                        result = fn(cur)
                        cur.execute("COMMIT")
                    except BaseException:
                        if not conn.closed:
                            cur.execute("ROLLBACK")
                        raise
                    return result
                return fn(cur)
            except mod.Error as e:
                if conn.closed or isinstance(e, mod.OperationalError) and _sqlstate(e) is None:
                    self.forget()  # the connection is gone; the next request reconnects
                    raise
                if _sqlstate(e) not in _PG_RETRY:
                    raise
                if attempt == WRITE_ATTEMPTS - 1:
                    raise Busy(str(e))
                time.sleep(0.005 * (attempt + 1) + random.random() * 0.01)
            finally:
                if not conn.closed:
                    cur.close()
        raise Busy("transaction kept failing")

    def _read(self, sql, params=()):
        def q(cur):
            cur.execute(_pg(sql), params)
            return cur.fetchall()

        return self._run(q, False)

    def _write(self, fn):
        return self._run(fn, True)

    def get_item(self, item_id):
        rows = self._read(SQL_GET_ITEM, (item_id,))
        return _item(rows[0]) if rows else None

    def list_items(self, limit, offset):
        return [_item(r) for r in self._read(SQL_LIST_ITEMS, (limit, offset))]

    def create_item(self, name, price_cents, qty):
        ts = _now()

        def tx(cur):
            cur.execute(_pg(SQL_INSERT_ITEM) + " RETURNING id", (name, price_cents, qty, ts))
            return cur.fetchone()[0]

        new_id = self._write(tx)
        return {"id": new_id, "name": name, "price_cents": price_cents, "qty": qty, "updated_at": ts}

    def update_item(self, item_id, fields):
        sql, params = _update_item_sql(item_id, fields)

        def tx(cur):
            cur.execute(_pg(sql), params)
            if cur.rowcount == 0:
                return None
            cur.execute(_pg(SQL_GET_ITEM), (item_id,))
            return _item(cur.fetchone())

        return self._write(tx)

    def delete_item(self, item_id):
        def tx(cur):
            cur.execute(_pg(SQL_DELETE_ITEM), (item_id,))
            return cur.rowcount > 0

        return self._write(tx)

    def get_world(self, world_id):
        rows = self._read(SQL_GET_WORLD, (world_id,))
        return {"id": rows[0][0], "randomNumber": rows[0][1]} if rows else None

    def update_worlds(self, worlds):
        params = [(w["randomNumber"], w["id"]) for w in worlds]
        self._write(lambda cur: cur.executemany(_pg(SQL_UPDATE_WORLD), params))

    def fortunes(self):
        return [(r[0], r[1]) for r in self._read(SQL_FORTUNES)]


def make_store(environ=None):
    """Build the store from the process environment (or the WSGI environ):
    PostgresStore when WSGIBENCH_DSN is set, else SQLiteStore on
    WSGIBENCH_DB."""
    env = environ or {}
    dsn = os.environ.get("WSGIBENCH_DSN") or env.get("WSGIBENCH_DSN")
    if dsn:
        pg_driver()  # a missing driver is a ConfigError now, not a 500 per request later
        return PostgresStore(dsn)
    path = os.environ.get("WSGIBENCH_DB") or env.get("WSGIBENCH_DB")
    if not path:
        raise ConfigError("WSGIBENCH_DB is not set (path of a database made by wsgibench_seed.py)")
    return SQLiteStore(path)


_store = None


def _get_store(environ):
    global _store
    s = _store
    if s is None:
        s = make_store(environ)
        _store = s
    return s


# responses


def _response(code, body, content_type, headers=()):
    h = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    h.extend(headers)
    return code, h, body


def _json(code, obj, headers=()):
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _response(code, body, "application/json", headers)


def _error(code, message, headers=()):
    return _json(code, {"error": message}, headers)


# request helpers


def _query(environ):
    return parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def _int_param(q, names, default, lo, hi, strict):
    """First of names in the query, clamped to [lo, hi].

    strict: a non-integer is a 400; otherwise it means the default
    (TechEmpower's rule for queries/updates).
    """
    for name in names:
        if name in q:
            raw = q[name][0]
            try:
                v = int(raw)
            except ValueError:
                if strict:
                    raise HTTPError(400, "%s must be an integer" % name)
                v = default
            return max(lo, min(hi, v))
    return default


def _read_body(environ):
    """Read the request body as bytes.

    With a Content-Length, exactly that many bytes (in a loop: read(n) may
    legally return less). Without one, only a server that de-chunked the
    request and says so with wsgi.input_terminated may be read to EOF;
    reading past the end of anything else can block forever.
    """
    stream = environ["wsgi.input"]
    cl = environ.get("CONTENT_LENGTH", "")
    if cl:
        try:
            n = int(cl)
        except ValueError:
            raise HTTPError(400, "invalid Content-Length")
        if n < 0:
            raise HTTPError(400, "invalid Content-Length")
        if n > MAX_BODY:
            raise HTTPError(413, "request body larger than %d bytes" % MAX_BODY)
        chunks = []
        left = n
        while left > 0:
            chunk = stream.read(left)
            if not chunk:
                raise HTTPError(400, "request body shorter than Content-Length")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    if environ.get("wsgi.input_terminated"):
        chunks = []
        total = 0
        while True:
            chunk = stream.read(65536)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > MAX_BODY:
                raise HTTPError(413, "request body larger than %d bytes" % MAX_BODY)
            chunks.append(chunk)
    raise HTTPError(411, "Content-Length required")


def _json_body(environ):
    raw = _read_body(environ)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HTTPError(400, "body is not valid JSON")


_LIMITS = {"price_cents": (0, 2 ** 31 - 1), "qty": (0, 2 ** 31 - 1)}


def _item_fields(data, partial):
    if not isinstance(data, dict):
        raise HTTPError(400, "body must be a JSON object")
    out = {}
    for key in ("name", "price_cents", "qty"):
        if key not in data:
            if partial:
                continue
            raise HTTPError(400, "missing field %r" % key)
        v = data[key]
        if key == "name":
            if not isinstance(v, str) or not v.strip() or len(v) > 200:
                raise HTTPError(400, "name must be a non-empty string of at most 200 characters")
        else:
            lo, hi = _LIMITS[key]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise HTTPError(400, "%s must be an integer in [%d, %d]" % (key, lo, hi))
        out[key] = v
    if not out:
        raise HTTPError(400, "nothing to update: give name, price_cents or qty")
    return out


# handlers: (environ, store, match) -> (code, headers, body)


def h_index(environ, store, m):
    return _json(200, {"app": "wsgibench", "endpoints": sorted(_EXACT) + ["/items/{id}"]})


def h_plaintext(environ, store, m):
    return _response(200, b"Hello, World!", "text/plain")


def h_json(environ, store, m):
    return _json(200, {"message": "Hello, World!"})


def h_db(environ, store, m):
    return _json(200, store.get_world(random.randint(1, WORLD_ROWS)))


def h_queries(environ, store, m):
    n = _int_param(_query(environ), ("n", "queries"), 1, 1, MAX_QUERIES, False)
    return _json(200, [store.get_world(random.randint(1, WORLD_ROWS)) for _ in range(n)])


def h_updates(environ, store, m):
    n = _int_param(_query(environ), ("n", "queries"), 1, 1, MAX_QUERIES, False)
    # Distinct ids, written in id order: the usual way to keep concurrent
    # multi-row updates from deadlocking on databases with row locks.
    worlds = [store.get_world(i) for i in sorted(random.sample(range(1, WORLD_ROWS + 1), n))]
    for w in worlds:
        w["randomNumber"] = random.randint(1, WORLD_ROWS)
    store.update_worlds(worlds)
    return _json(200, worlds)


def h_fortunes(environ, store, m):
    rows = store.fortunes()
    rows.append((0, EXTRA_FORTUNE))
    rows.sort(key=lambda r: r[1])
    parts = ["<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
             "<tr><th>id</th><th>message</th></tr>"]
    for fid, msg in rows:
        parts.append("<tr><td>%d</td><td>%s</td></tr>" % (fid, html.escape(msg, quote=True)))
    parts.append("</table></body></html>")
    return _response(200, "".join(parts).encode("utf-8"), "text/html; charset=utf-8",
                     [("Cache-Control", CACHE_FORTUNES)])


def h_sleep(environ, store, m):
    ms = _int_param(_query(environ), ("ms",), 0, 0, MAX_SLEEP_MS, True)
    time.sleep(ms / 1000.0)  # attribute looked up now, so monkey-patching applies
    return _json(200, {"slept_ms": ms})


_cpu_clock = getattr(time, "thread_time", time.perf_counter)


def h_cpu(environ, store, m):
    """Spin until this thread has used us microseconds of CPU.

    Thread CPU time, not wall time: a request that waits for the GIL still
    does the same amount of work, which is what a CPU-bound view costs.
    """
    us = _int_param(_query(environ), ("us",), 0, 0, MAX_CPU_US, True)
    deadline = _cpu_clock() + us / 1e6
    x = 0
    while _cpu_clock() < deadline:
        for i in range(100):
            x = (x * 31 + i) & 0xFFFFFFFF
    return _json(200, {"cpu_us": us, "x": x})


def h_items_list(environ, store, m):
    q = _query(environ)
    limit = _int_param(q, ("limit",), 20, 1, 100, True)
    offset = _int_param(q, ("offset",), 0, 0, 2 ** 62, True)
    return _json(200, {"items": store.list_items(limit, offset), "limit": limit, "offset": offset})


def h_items_create(environ, store, m):
    f = _item_fields(_json_body(environ), partial=False)
    item = store.create_item(f["name"], f["price_cents"], f["qty"])
    return _json(201, item, [("Location", "/items/%d" % item["id"])])


def _not_found_item(item_id):
    return _error(404, "item %d not found" % item_id)


def h_item_get(environ, store, m):
    item_id = int(m.group(1))
    item = store.get_item(item_id)
    return _json(200, item, [("Cache-Control", CACHE_ITEM)]) if item else _not_found_item(item_id)


def h_item_put(environ, store, m):
    item_id = int(m.group(1))
    f = _item_fields(_json_body(environ), partial=True)
    item = store.update_item(item_id, f)
    return _json(200, item) if item else _not_found_item(item_id)


def h_item_delete(environ, store, m):
    item_id = int(m.group(1))
    if not store.delete_item(item_id):
        return _not_found_item(item_id)
    return 204, [], b""  # 204 carries neither body nor Content-Type/Length


_EXACT = {
    "/": {"GET": h_index},
    "/plaintext": {"GET": h_plaintext},
    "/json": {"GET": h_json},
    "/db": {"GET": h_db},
    "/queries": {"GET": h_queries},
    "/updates": {"GET": h_updates},
    "/fortunes": {"GET": h_fortunes},
    "/sleep": {"GET": h_sleep},
    "/cpu": {"GET": h_cpu},
    "/items": {"GET": h_items_list, "POST": h_items_create},
}
_ITEM_RE = re.compile(r"/items/([0-9]{1,18})\Z")
_ITEM_METHODS = {"GET": h_item_get, "PUT": h_item_put, "DELETE": h_item_delete}
_NEEDS_DB = frozenset(["/db", "/queries", "/updates", "/fortunes", "/items"])


def _dispatch(environ):
    path = environ.get("PATH_INFO", "") or "/"
    method = environ.get("REQUEST_METHOD", "GET")
    match = None
    methods = _EXACT.get(path)
    if methods is None:
        match = _ITEM_RE.match(path)
        if match is None:
            return _error(404, "not found")
        methods = _ITEM_METHODS
    handler = methods.get("GET" if method == "HEAD" else method)
    if handler is None:
        allow = sorted(list(methods) + (["HEAD"] if "GET" in methods else []))
        return _error(405, "method not allowed", [("Allow", ", ".join(allow))])
    store = None
    if match is not None or path in _NEEDS_DB:
        store = _get_store(environ)
    return handler(environ, store, match)


def _log(environ, message):
    errors = environ.get("wsgi.errors") or sys.stderr
    try:
        errors.write(message if message.endswith("\n") else message + "\n")
        errors.flush()
    except Exception:
        pass


def application(environ, start_response):
    try:
        code, headers, body = _dispatch(environ)
    except HTTPError as e:
        code, headers, body = _error(e.code, e.message, e.headers)
    except ConfigError as e:
        _log(environ, "wsgibench_app: %s" % e)
        code, headers, body = _error(500, "server misconfigured: %s" % e)
    except Busy as e:
        _log(environ, "wsgibench_app: database busy: %s" % e)
        code, headers, body = _error(503, "database busy", [("Retry-After", "1")])
    except Exception:
        _log(environ, "wsgibench_app: error in %s %s\n%s" % (
            environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), traceback.format_exc()))
        code, headers, body = _error(500, "internal server error")
    if not any(k.lower() == "cache-control" for k, _ in headers):
        headers = list(headers) + [("Cache-Control", CACHE_NEVER)]
    start_response(_STATUS[code], headers)
    if environ.get("REQUEST_METHOD") == "HEAD":
        return [b""]
    return [body]


app = application


def _preload_driver():
    """Import the PostgreSQL driver with the app when WSGIBENCH_DSN is set.

    Debian's psycopg 3 is the pure-Python implementation over ctypes and
    takes 0.3-0.5 s to import; left to the first request, every worker's
    first requests (several threads importing at once) pay it inside the
    measured interval. Servers import the app before they answer the
    readiness probe, so here it costs start-up time instead. Importing opens
    no connection, so it is safe before fork.
    """
    if os.environ.get("WSGIBENCH_DSN"):
        try:
            pg_driver()
        except ConfigError:
            pass  # reported by the first request that needs the database


_preload_driver()
