# The standard library's reference server: one request at a time, HTTP/1.0.
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import wsgibench_runner as r

args = r.parse("wsgiref.simple_server")
app = r.load_app(args)


class Quiet(WSGIRequestHandler):
    def log_message(self, *a):  # no access log, as for every server
        pass


class Server(WSGIServer):
    address_family = r.family(args.host)
    request_queue_size = 1024


make_server(args.host, args.port, app, server_class=Server, handler_class=Quiet).serve_forever()
