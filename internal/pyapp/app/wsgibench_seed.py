"""Create and seed the wsgibench reference database.

    python wsgibench_seed.py DBPATH [--items 10000]

Tables: items (deterministic rows from a fixed random seed), world (10,000
rows) and fortune (TechEmpower's twelve). The file is left in WAL mode, which
is persistent, so the app never has to switch modes under load.

The database is built as DBPATH.tmp and renamed into place, and before the
rename the WAL is checkpointed with wal_checkpoint(TRUNCATE) and the only
connection closed. That leaves one self-contained file with no -wal/-shm
beside it, so a benchmark can seed once into a template and give each server
start a fresh copy of just the main file.
"""

import argparse
import os
import random
import sqlite3
import sys

WORLD_ROWS = 10000
SEED = 20240101

FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]

SCHEMA = """
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE world (
    id INTEGER PRIMARY KEY,
    randomnumber INTEGER NOT NULL
);
CREATE TABLE fortune (
    id INTEGER PRIMARY KEY,
    message TEXT NOT NULL
);
"""

_ADJ = ["red", "small", "sturdy", "vintage", "quiet", "bright", "compact", "heavy", "spare", "smart"]
_NOUN = ["widget", "gadget", "bolt", "lamp", "kettle", "cable", "chair", "sensor", "valve", "brush"]


def _remove(path):
    for p in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


def seed(path, items=10000):
    rnd = random.Random(SEED)
    tmp = path + ".tmp"
    _remove(tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError("could not switch %s to WAL (got %r)" % (tmp, mode))
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO items (id, name, price_cents, qty, updated_at) VALUES (?, ?, ?, ?, ?)",
            (
                (
                    i,
                    "%s %s %d" % (rnd.choice(_ADJ), rnd.choice(_NOUN), i),
                    rnd.randint(99, 99999),
                    rnd.randint(0, 500),
                    "2024-01-%02dT%02d:%02d:00.000Z" % (1 + i % 28, i % 24, i % 60),
                )
                for i in range(1, items + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO world (id, randomnumber) VALUES (?, ?)",
            ((i, rnd.randint(1, WORLD_ROWS)) for i in range(1, WORLD_ROWS + 1)),
        )
        conn.executemany("INSERT INTO fortune (id, message) VALUES (?, ?)", FORTUNES)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    if os.path.exists(tmp + "-wal") and os.path.getsize(tmp + "-wal") > 0:
        raise RuntimeError("the WAL of %s was not checkpointed" % tmp)
    _remove(path)
    os.replace(tmp, path)
    _remove(tmp)  # an empty -shm may survive the close on some platforms


def main(argv=None):
    p = argparse.ArgumentParser(description="Create and seed the wsgibench database.")
    p.add_argument("dbpath")
    p.add_argument("--items", type=int, default=10000, help="rows in items (default 10000)")
    args = p.parse_args(argv)
    if args.items < 0:
        p.error("--items must be >= 0")
    try:
        seed(args.dbpath, args.items)
    except Exception as e:
        sys.stderr.write("wsgibench_seed: %s: %s\n" % (args.dbpath, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
