"""Every endpoint of wsgibench_app, in-process through wsgiref.validate.

Run by pyapp_test.go as:
    WSGIBENCH_DB=<fresh copy> PYTHONPATH=<app dir> python3 test_app.py
and again against PostgreSQL with WSGIBENCH_DSN=<a fresh clone of the seed>.
"""

import ast
import glob
import html
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsgibench_app as mod  # noqa: E402
import wsgibench_seed  # noqa: E402
from wsgitest import call, db_rows  # noqa: E402

APP = mod.application
DB = os.environ.get("WSGIBENCH_DB")
DSN = os.environ.get("WSGIBENCH_DSN")
ON_PG = bool(DSN)


def req(*args, **kwargs):
    r = call(APP, *args, **kwargs)
    check_framing(r, args[0])
    return r


def check_framing(r, method):
    if r.status == 204:
        assert r.body == b"", r
        assert "content-type" not in r.headers and "content-length" not in r.headers, r.headers
        return
    assert r.content_type, r
    if method == "HEAD":
        assert r.body == b"", r
        return
    assert int(r.headers["content-length"]) == len(r.body), (r.headers, len(r.body))
    if r.content_type == "application/json":
        r.json()
    if r.status >= 400:
        assert r.content_type == "application/json", r
        assert set(r.json()) == {"error"}, r
        assert "Traceback" not in r.body.decode("utf-8"), r


def one(sql, params=()):
    rows = db_rows(sql, params)
    return rows[0] if rows else None


class TechEmpower(unittest.TestCase):
    def test_plaintext(self):
        r = req("GET", "/plaintext")
        self.assertEqual((r.status, r.content_type, r.body), (200, "text/plain", b"Hello, World!"))

    def test_json(self):
        r = req("GET", "/json")
        self.assertEqual((r.status, r.content_type), (200, "application/json"))
        self.assertEqual(r.json(), {"message": "Hello, World!"})

    def test_db(self):
        for _ in range(20):
            w = req("GET", "/db").json()
            self.assertEqual(set(w), {"id", "randomNumber"})
            self.assertTrue(1 <= w["id"] <= 10000)
            (n,) = one("SELECT randomnumber FROM world WHERE id = ?", (w["id"],))
            self.assertEqual(n, w["randomNumber"])

    def test_queries_clamping(self):
        for query, want in [("", 1), ("n=0", 1), ("n=-3", 1), ("n=foo", 1), ("n=", 1), ("n=7", 7),
                            ("n=500", 500), ("n=501", 500), ("n=100000", 500), ("queries=3", 3)]:
            r = req("GET", "/queries", query)
            self.assertEqual(r.status, 200, query)
            rows = r.json()
            self.assertIsInstance(rows, list)
            self.assertEqual(len(rows), want, query)
            for w in rows:
                self.assertEqual(set(w), {"id", "randomNumber"})

    def test_fortunes(self):
        r = req("GET", "/fortunes")
        self.assertEqual((r.status, r.content_type), (200, "text/html; charset=utf-8"))
        page = r.body.decode("utf-8")
        self.assertTrue(page.startswith("<!DOCTYPE html><html><head><title>Fortunes</title>"), page[:80])
        self.assertNotIn("<script>", page)
        self.assertIn("<td>&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);"
                      "&lt;/script&gt;</td>", page)
        self.assertIn("<td>\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af</td>", page)
        self.assertIn("<tr><td>0</td><td>Additional fortune added at request time.</td></tr>", page)
        cells = page.split("<tr><td>")[1:]
        self.assertEqual(len(cells), 13)
        ids = [int(c.split("<")[0]) for c in cells]
        self.assertEqual(ids, [11, 4, 5, 2, 8, 0, 3, 7, 10, 6, 9, 1, 12])
        msgs = [html.unescape(c.split("</td><td>")[1].split("</td>")[0]) for c in cells]
        self.assertEqual(msgs, sorted(msgs))
        self.assertIn("aren&#x27;t broken", page)

    def test_updates_persist(self):
        for query, want in [("n=5", 5), ("n=0", 1), ("n=x", 1), ("n=999", 500)]:
            r = req("GET", "/updates", query)
            self.assertEqual(r.status, 200)
            rows = r.json()
            self.assertEqual(len(rows), want, query)
            self.assertEqual(len({w["id"] for w in rows}), want, "ids must be distinct")
            for w in rows:
                (n,) = one("SELECT randomnumber FROM world WHERE id = ?", (w["id"],))
                self.assertEqual(n, w["randomNumber"], w)

    def test_head(self):
        r = req("HEAD", "/plaintext")
        self.assertEqual((r.status, r.headers["content-length"], r.body), (200, "13", b""))


class Items(unittest.TestCase):
    def test_list(self):
        r = req("GET", "/items")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertEqual((doc["limit"], doc["offset"]), (20, 0))
        self.assertEqual([i["id"] for i in doc["items"]], list(range(1, 21)))
        self.assertEqual(set(doc["items"][0]), {"id", "name", "price_cents", "qty", "updated_at"})
        doc = req("GET", "/items", "limit=5&offset=10").json()
        self.assertEqual([i["id"] for i in doc["items"]], list(range(11, 16)))
        self.assertEqual(len(req("GET", "/items", "limit=1000").json()["items"]), 100)
        self.assertEqual(len(req("GET", "/items", "limit=0").json()["items"]), 1)
        self.assertEqual(req("GET", "/items", "limit=abc").status, 400)
        self.assertEqual(req("GET", "/items", "offset=1000000").json()["items"], [])

    def test_crud_round_trip(self):
        r = req("POST", "/items", body={"name": "round trip", "price_cents": 1234, "qty": 5})
        self.assertEqual(r.status, 201, r)
        item = r.json()
        self.assertGreater(item["id"], 10000, "new ids continue after the seeded rows")
        self.assertEqual(one("SELECT name, price_cents, qty FROM items WHERE id = ?", (item["id"],)),
                         ("round trip", 1234, 5))
        self.assertEqual(r.headers["location"], "/items/%d" % item["id"])
        self.assertEqual((item["name"], item["price_cents"], item["qty"]), ("round trip", 1234, 5))
        self.assertTrue(item["updated_at"].endswith("Z"))
        self.assertEqual(req("GET", "/items/%d" % item["id"]).json(), item)

        r = req("PUT", "/items/%d" % item["id"], body={"qty": 9, "name": "renamed \u00e9"})
        self.assertEqual(r.status, 200, r)
        upd = r.json()
        self.assertEqual((upd["id"], upd["name"], upd["price_cents"], upd["qty"]),
                         (item["id"], "renamed \u00e9", 1234, 9))
        self.assertEqual(req("GET", "/items/%d" % item["id"]).json(), upd)

        r = req("DELETE", "/items/%d" % item["id"])
        self.assertEqual(r.status, 204)
        self.assertEqual(req("GET", "/items/%d" % item["id"]).status, 404)
        self.assertEqual(req("DELETE", "/items/%d" % item["id"]).status, 404)
        self.assertEqual(req("PUT", "/items/%d" % item["id"], body={"qty": 1}).status, 404)

    def test_get_missing(self):
        r = req("GET", "/items/99999999")
        self.assertEqual(r.status, 404)
        self.assertIn("not found", r.json()["error"])

    def test_bad_bodies(self):
        cases = [
            b"{not json",
            b"\xff\xfe",
            b"[1, 2]",
            b"",
            {"name": "x", "price_cents": 1},
            {"name": "", "price_cents": 1, "qty": 1},
            {"name": 5, "price_cents": 1, "qty": 1},
            {"name": "x", "price_cents": -1, "qty": 1},
            {"name": "x", "price_cents": 1, "qty": True},
            {"name": "x", "price_cents": 1.5, "qty": 1},
            {"name": "x", "price_cents": "1", "qty": 1},
        ]
        for body in cases:
            r = req("POST", "/items", body=body)
            self.assertEqual(r.status, 400, (body, r))
        self.assertEqual(req("PUT", "/items/1", body={}).status, 400)
        self.assertEqual(req("PUT", "/items/1", body={"qty": -1}).status, 400)
        self.assertEqual(req("POST", "/items", content_length="abc", body=b"{}", validate=False).status, 400)

    def test_short_body(self):
        r = req("POST", "/items", body=b'{"name": "x"}', content_length="100")
        self.assertEqual(r.status, 400)
        self.assertIn("shorter", r.json()["error"])

    def test_chunked(self):
        r = req("POST", "/items", body={"name": "chunked", "price_cents": 1, "qty": 2}, chunked=True)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["name"], "chunked")
        r = req("POST", "/items")  # neither Content-Length nor wsgi.input_terminated
        self.assertEqual(r.status, 411)

    def test_too_large(self):
        big = b'{"name": "' + b"x" * (mod.MAX_BODY + 10) + b'"}'
        self.assertEqual(req("POST", "/items", body=big).status, 413)
        self.assertEqual(req("POST", "/items", body=big, chunked=True).status, 413)


class Caching(unittest.TestCase):
    def test_cache_control(self):
        # What a cache in front may keep: item reads and fortunes for
        # seconds; everything else, errors and writes included, never.
        cases = [
            ("GET", "/items/1", "public, max-age=5"),
            ("HEAD", "/items/1", "public, max-age=5"),
            ("GET", "/fortunes", "public, max-age=10"),
            ("GET", "/items/99999999", "no-store"),
            ("GET", "/items?limit=2", "no-store"),
            ("GET", "/db", "no-store"),
            ("GET", "/updates?n=1", "no-store"),
            ("GET", "/plaintext", "no-store"),
            ("GET", "/nope", "no-store"),
            ("DELETE", "/items/99999999", "no-store"),
        ]
        # A write goes to an item of this test's own: the seeded rows stay
        # as seeded for the tests that compare them.
        created = req("POST", "/items", body={"name": "cache-control", "price_cents": 1, "qty": 1})
        self.assertEqual(created.headers.get("cache-control"), "no-store")
        cases.append(("PUT", "/items/%d" % created.json()["id"], "no-store"))
        for method, path, want in cases:
            body = {"qty": 3} if method == "PUT" else None
            r = req(method, path, body=body)
            self.assertEqual(r.headers.get("cache-control"), want, (method, path, r.status))


class Routing(unittest.TestCase):
    def test_not_found(self):
        for path in ["/nope", "/items/", "/items/abc", "/items/1/x", "/plaintext/", "/items/-1",
                     "/items/1234567890123456789012"]:
            self.assertEqual(req("GET", path).status, 404, path)

    def test_method_not_allowed(self):
        for method, path, allow in [("POST", "/plaintext", "GET, HEAD"), ("DELETE", "/items", "GET, HEAD, POST"),
                                    ("PATCH", "/items/1", "DELETE, GET, HEAD, PUT"), ("PUT", "/db", "GET, HEAD")]:
            r = req(method, path)
            self.assertEqual(r.status, 405, (method, path))
            self.assertEqual(r.headers["allow"], allow)

    def test_index(self):
        r = req("GET", "/")
        self.assertEqual(r.status, 200)
        self.assertIn("/fortunes", r.json()["endpoints"])


class Knobs(unittest.TestCase):
    def test_sleep(self):
        t = time.perf_counter()
        r = req("GET", "/sleep", "ms=50")
        self.assertGreaterEqual(time.perf_counter() - t, 0.05)
        self.assertEqual(r.json(), {"slept_ms": 50})
        self.assertEqual(req("GET", "/sleep", "ms=x").status, 400)
        self.assertEqual(req("GET", "/sleep").json(), {"slept_ms": 0})

    def test_cpu(self):
        t = time.thread_time()
        r = req("GET", "/cpu", "us=20000")
        self.assertGreaterEqual(time.thread_time() - t, 0.02)
        self.assertEqual(r.json()["cpu_us"], 20000)
        self.assertEqual(req("GET", "/cpu", "us=-5").json()["cpu_us"], 0)
        self.assertEqual(req("GET", "/cpu", "us=1.5").status, 400)


class Robustness(unittest.TestCase):
    def test_internal_error_is_logged_not_leaked(self):
        store = mod._get_store({})
        orig = store.get_item
        store.get_item = lambda item_id: 1 / 0
        try:
            r = req("GET", "/items/1")
        finally:
            store.get_item = orig
        self.assertEqual(r.status, 500)
        self.assertEqual(r.json(), {"error": "internal server error"})
        self.assertIn("Traceback", r.errors)
        self.assertIn("ZeroDivisionError", r.errors)

    def test_missing_db_env(self):
        saved_store = mod._store
        saved_env = dict((k, os.environ.pop(k)) for k in ("WSGIBENCH_DB", "WSGIBENCH_DSN") if k in os.environ)
        mod._store = None
        try:
            r = req("GET", "/db")
            self.assertEqual(r.status, 500)
            self.assertIn("WSGIBENCH_DB", r.json()["error"])
            self.assertIn("WSGIBENCH_DB", r.errors)
            self.assertEqual(req("GET", "/plaintext").status, 200)
        finally:
            os.environ.update(saved_env)
            mod._store = saved_store

    def test_store_kind(self):
        self.assertEqual(mod._get_store({}).kind, "postgres" if ON_PG else "sqlite")

    @unittest.skipUnless(ON_PG, "PostgreSQL only")
    def test_broken_connection_reconnects(self):
        store = mod._get_store({})
        req("GET", "/db")
        conn = store.conn()
        cur = conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        (pid,) = cur.fetchone()
        cur.close()
        db_rows("SELECT pg_terminate_backend(?)", (pid,))
        deadline = time.time() + 5
        while time.time() < deadline and one("SELECT count(*) FROM pg_stat_activity WHERE pid = ?", (pid,))[0]:
            time.sleep(0.01)
        r = req("GET", "/db")
        self.assertEqual(r.status, 500, "the request on the killed session fails")
        r = req("GET", "/db")
        self.assertEqual(r.status, 200, "the next one reconnects: %r" % r)
        self.assertIsNot(store.conn(), conn)

    @unittest.skipUnless(ON_PG, "PostgreSQL only")
    def test_unreachable_database(self):
        saved = mod._store
        mod._store = mod.PostgresStore("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2")
        try:
            r = req("GET", "/db")
            self.assertEqual(r.status, 500)
            self.assertEqual(req("GET", "/plaintext").status, 200)
        finally:
            mod._store = saved

    @unittest.skipIf(ON_PG, "SQLite only")
    def test_missing_db_file(self):
        saved = mod._store
        mod._store = mod.SQLiteStore("/nonexistent/wsgibench.db")
        try:
            r = req("GET", "/db")
            self.assertEqual(r.status, 500)
            self.assertIn("does not exist", r.json()["error"])
        finally:
            mod._store = saved

    def test_connection_per_thread(self):
        store = mod._get_store({})
        req("GET", "/db")
        mine = store.conn()
        self.assertIs(store.conn(), mine)
        others = []
        t = threading.Thread(target=lambda: (req("GET", "/db"), others.append(store.conn())))
        t.start()
        t.join()
        self.assertEqual(len(others), 1)
        self.assertIsNot(others[0], mine)
        self.assertEqual(store.owner_pid(), os.getpid())

    @unittest.skipIf(ON_PG, "SQLite's lock; PostgreSQL has row locks")
    def test_busy_is_503(self):
        store = mod.SQLiteStore(DB)
        lock = sqlite3.connect(DB, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        saved, saved_timeout = mod._store, mod.BUSY_TIMEOUT_MS
        mod._store, mod.BUSY_TIMEOUT_MS = store, 10
        try:
            r = req("POST", "/items", body={"name": "x", "price_cents": 1, "qty": 1})
        finally:
            lock.execute("ROLLBACK")
            lock.close()
            mod._store, mod.BUSY_TIMEOUT_MS = saved, saved_timeout
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.headers.get("retry-after"), "1")


class Files(unittest.TestCase):
    def test_python38_syntax(self):
        here = os.path.dirname(os.path.abspath(mod.__file__))
        files = glob.glob(os.path.join(here, "wsgibench_*.py"))
        self.assertEqual(len(files), 4, files)
        for path in files:
            with open(path, encoding="utf-8") as f:
                ast.parse(f.read(), path, feature_version=(3, 8))

    def test_seed_deterministic_and_self_contained(self):
        d = tempfile.mkdtemp()
        dumps = []
        for name in ("a.db", "b.db"):
            path = os.path.join(d, name)
            wsgibench_seed.seed(path, items=500)
            self.assertEqual([f for f in os.listdir(d) if f.startswith(name)], [name])  # no -wal/-shm/.tmp
            c = sqlite3.connect(path)
            self.assertEqual(c.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            self.assertEqual(c.execute("SELECT count(*) FROM items").fetchone()[0], 500)
            dumps.append(json.dumps(c.execute("SELECT * FROM items").fetchall() +
                                    c.execute("SELECT * FROM world").fetchall()))
            c.close()
            for f in os.listdir(d):
                if f.startswith(name + "-"):
                    os.remove(os.path.join(d, f))
        self.assertEqual(dumps[0], dumps[1])

    @unittest.skipUnless(ON_PG, "PostgreSQL only")
    def test_postgres_seed_matches_sqlite(self):
        items, world = wsgibench_seed.rows(10000)
        self.assertEqual(db_rows("SELECT id, name, price_cents, qty, updated_at FROM items WHERE id IN (1, 77, 10000) ORDER BY id"),
                         [items[0], items[76], items[9999]])
        self.assertEqual(db_rows("SELECT id, randomnumber FROM world WHERE id IN (1, 5000) ORDER BY id"),
                         [world[0], world[4999]])
        self.assertEqual(one("SELECT count(*) FROM fortune")[0], 12)


if __name__ == "__main__":
    unittest.main(verbosity=1)
