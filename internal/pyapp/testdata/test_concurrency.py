"""Concurrent writers: 8 threads, then 2 forked processes with threads each
while the parent keeps writing too. No request may fail, and the row count
must add up afterwards.

Run by pyapp_test.go with WSGIBENCH_DB and PYTHONPATH set, like test_app.py.
The parent talks to the database before forking on purpose: the children
must not reuse its connection.
"""

import json
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsgibench_app as mod  # noqa: E402
from wsgitest import call, db_rows  # noqa: E402

ON_PG = bool(os.environ.get("WSGIBENCH_DSN"))
OPS = int(os.environ.get("OPS", "150"))


def worker(seed, ops, tally, lock):
    rnd = random.Random(seed)
    created, deleted, errors, mine = 0, 0, [], []

    def expect(r, *codes):
        if r.status not in codes:
            errors.append("%s: %s" % (r.status_line, r.body[:200]))
        return r

    for i in range(ops):
        op = rnd.random()
        if op < 0.35 or not mine:
            r = expect(call(mod.application, "POST", "/items",
                            body={"name": "w%d-%d" % (seed, i), "price_cents": i, "qty": 1}), 201)
            if r.status == 201:
                item = r.json()
                mine.append(item["id"])
                created += 1
                got = expect(call(mod.application, "GET", "/items/%d" % item["id"]), 200)
                if got.status == 200 and got.json() != item:
                    errors.append("read back %r, wrote %r" % (got.json(), item))
        elif op < 0.55:
            expect(call(mod.application, "PUT", "/items/%d" % rnd.choice(mine), body={"qty": i}), 200)
        elif op < 0.70:
            item_id = mine.pop(rnd.randrange(len(mine)))
            if expect(call(mod.application, "DELETE", "/items/%d" % item_id), 204).status == 204:
                deleted += 1
        elif op < 0.85:
            expect(call(mod.application, "GET", "/updates", "n=%d" % rnd.randint(1, 20)), 200)
        else:
            # someone else's row: may have been deleted meanwhile
            expect(call(mod.application, "PUT", "/items/%d" % rnd.randint(1, 10000), body={"price_cents": i}),
                   200, 404)
            expect(call(mod.application, "GET", "/queries", "n=5"), 200)
    with lock:
        tally["created"] += created
        tally["deleted"] += deleted
        tally["errors"].extend(errors)
        tally["live"].extend(mine)


def run_threads(n, base_seed):
    tally = {"created": 0, "deleted": 0, "errors": [], "live": []}
    lock = threading.Lock()
    threads = [threading.Thread(target=worker, args=(base_seed + k, OPS, tally, lock)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def count():
    return db_rows("SELECT count(*) FROM items")[0][0]


def main():
    before = count()
    parent_pid = os.getpid()

    # Phase 1: eight threads in one process.
    totals = run_threads(8, 100)
    store = mod._get_store({})
    parent_conn = store.conn()
    assert store.owner_pid() == parent_pid

    # Phase 2: two forked children with 4 threads each, the parent's 4 threads alongside.
    children = []
    for k in range(2):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                res = run_threads(4, 1000 * (k + 1))
                if store.owner_pid() != os.getpid():
                    res["errors"].append("child still on the parent's connections")
                res["same_conn"] = store.conn() is parent_conn
                with os.fdopen(w, "w") as f:
                    json.dump(res, f)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        children.append((pid, r))
    mine = run_threads(4, 9000)
    results = [mine]
    for pid, r in children:
        with os.fdopen(r) as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            print("child %d failed with status %d" % (pid, status))
            return 1
        res = json.loads(data)
        if res.pop("same_conn"):
            res["errors"].append("child reused the parent's connection object")
        results.append(res)
    for res in results:
        totals["created"] += res["created"]
        totals["deleted"] += res["deleted"]
        totals["errors"].extend(res["errors"])
        totals["live"].extend(res["live"])

    after = count()
    integrity = "ok" if ON_PG else db_rows("PRAGMA integrity_check")[0][0]
    live = set(r[0] for r in db_rows("SELECT id FROM items"))
    missing = [i for i in totals["live"] if i not in live]

    print("items: %d before, %d created, %d deleted, %d after; %d errors" % (
        before, totals["created"], totals["deleted"], after, len(totals["errors"])))
    ok = True
    for e in totals["errors"][:10]:
        print("error:", e)
        ok = False
    if after != before + totals["created"] - totals["deleted"]:
        print("row count does not add up")
        ok = False
    if totals["created"] == 0 or totals["deleted"] == 0:
        print("the workload did not write")
        ok = False
    if missing:
        print("created rows missing: %r" % missing[:10])
        ok = False
    if integrity != "ok":
        print("integrity_check: %s" % integrity)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
