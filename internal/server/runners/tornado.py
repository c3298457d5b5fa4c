# tornado's WSGIContainer runs the WSGI app on the IOLoop thread (blocking it
# for the duration of each request); tornado scales by forking processes.
import logging

import wsgibench_runner as r

args = r.parse("tornado.wsgi.WSGIContainer")
app = r.load_app(args)

from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402
from tornado.wsgi import WSGIContainer  # noqa: E402

logging.getLogger("tornado.access").disabled = True
if args.reuse_port and args.workers > 1:
    # The remedy for uneven load: one socket shared by the forked processes
    # lets whichever is awake accept a whole burst of keep-alive clients
    # (up to 128 per wake-up) and keep them. Sockets bound after the fork
    # with SO_REUSEPORT, one per process, let the kernel spread new
    # connections over the processes (tornado.netutil.bind_sockets).
    from tornado.netutil import bind_sockets  # noqa: E402
    from tornado.process import fork_processes  # noqa: E402

    fork_processes(args.workers)
    server = HTTPServer(WSGIContainer(app), idle_connection_timeout=5)
    server.add_sockets(bind_sockets(args.port, address=args.host, backlog=1024, reuse_port=True))
else:
    server = HTTPServer(WSGIContainer(app), idle_connection_timeout=5)
    server.bind(args.port, address=args.host, backlog=1024)
    server.start(args.workers)  # forks when workers > 1
IOLoop.current().start()
