# Run by wsgibench with the interpreter under test: python -I -c <this> mod[=dist] ...
# Prints one JSON object: the interpreter's identity and, per module, whether it
# imports and which version its distribution has. Stdlib only; Python >= 3.8.
import importlib
import json
import platform
import sys

try:
    from importlib import metadata
except ImportError:  # pragma: no cover - Python < 3.8
    metadata = None


def version_of(module, mod, dist):
    names = [dist] if dist else []
    names.append(module.split(".")[0])
    if metadata is not None:
        for name in names:
            try:
                return metadata.version(name)
            except Exception:
                pass
    for attr in ("__version__", "version", "VERSION"):
        v = getattr(mod, attr, None)
        if isinstance(v, str):
            return v
        if isinstance(v, tuple):
            return ".".join(str(p) for p in v)
    return ""


def main(specs):
    modules = {}
    for spec in specs:
        name, _, dist = spec.partition("=")
        try:
            mod = importlib.import_module(name)
        except BaseException as e:  # a broken package may raise anything
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            modules[name] = {"ok": False, "version": "", "error": msg}
            continue
        modules[name] = {"ok": True, "version": version_of(name, mod, dist), "error": ""}
    print(json.dumps({
        "python": {
            "executable": sys.executable,
            "version": platform.python_version(),
            "prefix": sys.prefix,
            "base_prefix": getattr(sys, "base_prefix", sys.prefix),
            "implementation": platform.python_implementation(),
        },
        "modules": modules,
    }))


main(sys.argv[1:])
