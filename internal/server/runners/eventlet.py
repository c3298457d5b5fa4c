# eventlet.wsgi: monkey-patch first so blocking calls yield.
import eventlet

eventlet.monkey_patch()

import eventlet.wsgi  # noqa: E402
import wsgibench_runner as r  # noqa: E402

args = r.parse("eventlet.wsgi")
app = r.load_app(args)
sock = eventlet.listen((args.host, args.port), family=r.family(args.host), backlog=1024)
eventlet.wsgi.server(sock, app, log_output=False, max_size=1000, keepalive=True, debug=False)
