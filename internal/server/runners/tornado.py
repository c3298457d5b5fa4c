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
server = HTTPServer(WSGIContainer(app), idle_connection_timeout=5)
server.bind(args.port, address=args.host, backlog=1024)
server.start(args.workers)  # forks when workers > 1
IOLoop.current().start()
