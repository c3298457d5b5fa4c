# gevent.pywsgi: patch the standard library first, as gevent requires, so the
# app's blocking calls (sockets, sleep) yield to other greenlets.
from gevent import monkey

monkey.patch_all()

import wsgibench_runner as r  # noqa: E402
from gevent.pool import Pool  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

args = r.parse("gevent.pywsgi")
app = r.load_app(args)
# A pool bounds simultaneous connections like gunicorn's worker_connections.
listener = r.nodelay_listener(args.host, args.port)
WSGIServer(listener, app, log=None, spawn=Pool(1000)).serve_forever()
