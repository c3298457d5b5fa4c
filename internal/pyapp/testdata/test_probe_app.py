"""wsgibench_probe's endpoints, in-process through wsgiref.validate.

The probe app must itself be beyond reproach: a probe that blames a
server for what the app did would be worse than none. Run by
pyapp_test.go as: PYTHONPATH=<app dir> python3 test_probe_app.py
"""

import hashlib
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsgibench_probe as probe  # noqa: E402
from wsgitest import call  # noqa: E402

APP = probe.application


class Endpoints(unittest.TestCase):
    def test_echo_reports_the_request(self):
        r = call(APP, "POST", "/probe/echo/x", query="a=%20b", body=b"hello")
        self.assertEqual(r.status, 200)
        e = r.json()
        self.assertEqual((e["method"], e["path_info"], e["query_string"]), ("POST", "/probe/echo/x", "a=%20b"))
        self.assertEqual((e["body_len"], e["body_sha256"]), (5, hashlib.sha256(b"hello").hexdigest()))
        self.assertEqual((e["problems"], e["oddities"]), ([], []))

    def test_echo_reads_a_terminated_stream(self):
        r = call(APP, "POST", "/probe/echo", body=b"chunked body", chunked=True)
        self.assertEqual(r.json()["body_len"], 12)

    def test_environ_problems(self):
        env = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/", "SERVER_NAME": "x",
               "SERVER_PORT": 80, "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
               "wsgi.run_once": False, "wsgi.input": sys.stdin.buffer, "wsgi.errors": sys.stderr,
               "REMOTE_PORT": 1234, "HTTP_X": "ok"}
        problems, oddities = probe.environ_problems(env)
        self.assertEqual(problems, ["SERVER_PORT is int, not str"])
        self.assertEqual(oddities, ["REMOTE_PORT is int, not str"])
        del env["wsgi.version"]
        self.assertIn("wsgi.version is None, not (1, 0)", probe.environ_problems(env)[0])

    def test_unread_readmore_lines_write_nolength(self):
        self.assertEqual(call(APP, "POST", "/probe/unread", body=b"x" * 10).body, b"not read")
        self.assertEqual(call(APP, "POST", "/probe/readmore", body=b"0123456789").json(), {"asked": 4106, "got": 10})
        self.assertEqual(call(APP, "POST", "/probe/lines", body=b"a\nbb\nccc\n").json(), {"lines": 3, "ok": True})
        written = []

        def start_response(status, headers, exc_info=None):
            return written.append
        env = {"PATH_INFO": "/probe/write", "REQUEST_METHOD": "GET"}
        written.extend(APP(env, start_response))
        self.assertEqual(b"".join(written), b"written ok\n")
        r = call(APP, "GET", "/probe/nolength")
        self.assertNotIn("content-length", r.headers)
        self.assertEqual(r.body, b"".join(b"part-%d;" % i for i in range(10)))

    def test_close_leaves_a_mark(self):
        d = tempfile.mkdtemp()
        os.environ[probe_dir()] = d
        try:
            self.assertEqual(call(APP, "GET", "/probe/closed", query="token=abc").body, b"no")
            self.assertEqual(call(APP, "GET", "/probe/close", query="token=abc").body, b"close me")
            self.assertEqual(call(APP, "GET", "/probe/closed", query="token=abc").body, b"yes")
            self.assertEqual(call(APP, "GET", "/probe/close", query="token=../x").status, 400)
        finally:
            del os.environ[probe_dir()]

    def test_errors_and_smuggled(self):
        with self.assertRaises(RuntimeError):
            call(APP, "GET", "/probe/error", validate=False)
        with self.assertRaises(RuntimeError):
            call(APP, "GET", "/probe/error-after", validate=False)
        self.assertEqual(call(APP, "GET", "/probe/smuggled").body, b"SMUGGLED")
        self.assertEqual(call(APP, "GET", "/probe/sleep", query="ms=10").body, b"slept")
        self.assertEqual(call(APP, "GET", "/plaintext").body, b"Hello, World!")
        self.assertEqual(call(APP, "GET", "/nope").status, 404)


def probe_dir():
    return "WSGIBENCH_PROBE_DIR"


if __name__ == "__main__":
    unittest.main(verbosity=1)
