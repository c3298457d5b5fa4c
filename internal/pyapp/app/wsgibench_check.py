"""Fail fast on a bad WSGI app spec before any server is started.

    python wsgibench_check.py module:callable

Imports module the way a server would (the working directory first on
sys.path, PYTHONPATH as the caller set it; this script's own directory is
taken off the path so it cannot hide a missing module) and looks up
callable, which may be dotted ("pkg.mod:obj.app") or, as gunicorn allows, a
factory call with literal arguments ("mod:create_app('prod')"); no callable
means "application". Exit 0 and print nothing when it is callable;
otherwise exit 2 with exactly one line on stderr, printed last.
"""

import ast
import importlib
import os
import sys


def _fail(msg):
    sys.stdout.flush()
    sys.stderr.write(" ".join(str(msg).split()) + "\n")
    sys.stderr.flush()
    os._exit(2)  # no atexit handlers or non-daemon threads from the user's module


def _resolve(module, obj, expr, spec):
    """Evaluate a name, dotted name or call with literal arguments on obj."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        _fail("cannot parse %r in %r" % (expr, spec))
    call = None
    if isinstance(node, ast.Call):
        call, node = node, node.func
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        _fail("%r is not a name or a call in %r" % (expr, spec))
    names.append(node.id)
    names.reverse()
    for i, name in enumerate(names):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            if i == 0:
                _fail("module %r has no attribute %r" % (module, name))
            _fail("%r has no attribute %r" % ("%s:%s" % (module, ".".join(names[:i])), name))
        except BaseException as e:
            _fail("cannot get %r: %s: %s" % (spec, type(e).__name__, e))
    return obj, call


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        _fail("usage: wsgibench_check.py module:callable")
    spec = argv[1]
    module, _, expr = spec.partition(":")
    expr = expr or "application"
    if not module:
        _fail("no module in %r" % spec)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        _fail("cannot import module %r: %s" % (module, e))
    except BaseException as e:  # SyntaxError, SystemExit, errors at import time
        _fail("cannot import module %r: %s: %s" % (module, type(e).__name__, e))
    obj, call = _resolve(module, mod, expr, spec)
    if call is not None:
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = dict((k.arg, ast.literal_eval(k.value)) for k in call.keywords)
        except ValueError:
            _fail("arguments of %r must be literals" % expr)
        try:
            obj = obj(*args, **kwargs)
        except BaseException as e:
            _fail("calling %r failed: %s: %s" % (expr, type(e).__name__, e))
    if not callable(obj):
        _fail("%r is not callable" % spec)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
