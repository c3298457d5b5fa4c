"""Print, as JSON, the options a server start-up script sets.

Used by TestRunnersMatchDeploy: a benchmark runner (internal/server/runners)
and the serve.py deploy renders for the same server must set the same
options, so production runs what was measured. Usage:

    server_options.py SCRIPT [HELPER]

HELPER is wsgibench_runner.py: calls to its functions (r.nodelay_listener)
are followed, so an option the runner sets through the helper counts.

An option is a key and a value:
  call(kw)          a keyword argument:      listen(backlog) = 1024
  call()            an argument of a setting call (listen, set_keepalive,
                    setLevel, suggestThreadPoolSize, monkey_patch, patch_all)
  setsockopt(L,O)   a socket option:         setsockopt(IPPROTO_TCP,TCP_NODELAY) = 1
  class.NAME        a class attribute:       class.request_queue_size = 1024
  .NAME             an attribute assignment: .disabled = True
Values are Python literals, module constants (POOL = 1000) and function
defaults resolved; anything computed at run time (args.threads, HOST
derived values) is "?", which matches any value.
"""
import ast
import json
import sys

SETTING_CALLS = {"listen", "set_keepalive", "setLevel", "suggestThreadPoolSize", "monkey_patch", "patch_all"}
# The runner's plumbing (argument parsing, importing the app): serve.py has
# its own, and neither sets a server option.
PLUMBING = {"parse", "load_app", "family"}


def callee(node):
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return "?"


class Facts:
    def __init__(self, consts, helpers):
        self.consts = consts
        self.helpers = helpers
        self.out = {}

    def value(self, node, scope):
        if isinstance(node, ast.Constant):
            return repr(node.value)
        if isinstance(node, ast.Name):
            if node.id in scope:
                return scope[node.id]
            return self.consts.get(node.id, "?")
        if isinstance(node, ast.Attribute):
            # socket.TCP_NODELAY, logging.ERROR: the name is the value.
            if isinstance(node.value, ast.Name) and node.value.id in ("socket", "logging"):
                return node.attr
            return "?"
        if isinstance(node, ast.Call):
            args = [self.value(a, scope) for a in node.args]
            if "?" in args or node.keywords:
                return "?"
            return "%s(%s)" % (callee(node), ", ".join(args))
        return "?"

    def put(self, key, value):
        # The same option set twice with different values: keep both visible.
        old = self.out.get(key)
        self.out[key] = value if old in (None, value) else old + " | " + value

    def walk(self, tree, scope):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self.call(node, scope)
            elif isinstance(node, ast.ClassDef):
                for st in node.body:
                    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                        self.put("class." + st.targets[0].id, self.value(st.value, scope))
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Attribute):
                        self.put("." + t.attr, self.value(node.value, scope))

    def call(self, node, scope):
        name = callee(node)
        f = node.func
        if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "r"
                and name in self.helpers and name not in PLUMBING):
            fn = self.helpers[name]
            inner = {}
            params = fn.args.args
            defaults = fn.args.defaults
            for p, d in zip(params[len(params) - len(defaults):], defaults):
                inner[p.arg] = self.value(d, {})
            for p, a in zip(params, node.args):
                inner[p.arg] = self.value(a, scope)
            for kw in node.keywords:
                inner[kw.arg] = self.value(kw.value, scope)
            for p in params:
                inner.setdefault(p.arg, "?")
            self.walk(fn, inner)
            return
        if name == "setsockopt" and len(node.args) == 3:
            level, opt = (self.value(a, scope) for a in node.args[:2])
            self.put("setsockopt(%s,%s)" % (level, opt), self.value(node.args[2], scope))
            return
        if name in SETTING_CALLS:
            self.put(name + "()", ", ".join(self.value(a, scope) for a in node.args))
        for kw in node.keywords:
            if kw.arg is not None:
                self.put("%s(%s)" % (name, kw.arg), self.value(kw.value, scope))


def constants(tree):
    out = {}
    for st in tree.body:
        if (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)
                and isinstance(st.value, ast.Constant)):
            out[st.targets[0].id] = repr(st.value.value)
    return out


def main():
    script = ast.parse(open(sys.argv[1]).read())
    helpers = {}
    if len(sys.argv) > 2:
        helper = ast.parse(open(sys.argv[2]).read())
        helpers = {n.name: n for n in helper.body if isinstance(n, ast.FunctionDef)}
    facts = Facts(constants(script), helpers)
    # Walk the module but follow helper calls only from the script itself.
    facts.walk(script, {})
    print(json.dumps(facts.out, sort_keys=True))


main()
