# paste.httpserver with its thread pool; HTTP/1.1 so connections are kept
# alive (its default protocol_version is HTTP/1.0).
import wsgibench_runner as r
from paste import httpserver

args = r.parse("paste.httpserver")
app = r.load_app(args)


class Handler(httpserver.WSGIHandler):
    def log_request(self, *a, **k):  # no access log, as for every server
        pass


server = httpserver.serve(app, host=args.host, port=str(args.port), handler=Handler,
                          use_threadpool=True, threadpool_workers=args.threads,
                          # its default (5) must not exceed the pool size
                          threadpool_options={"spawn_if_under": min(5, args.threads)},
                          protocol_version="HTTP/1.1", request_queue_size=1024, daemon_threads=True,
                          start_loop=False)
# TCP_NODELAY on the listener (accepted sockets inherit it): see
# wsgibench_runner.nodelay_listener.
import socket  # noqa: E402

server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
