# Twisted Web's WSGIResource runs the app in the reactor's thread pool; its
# size is the "threads" of the shape (twistd's command line cannot set it).
import wsgibench_runner as r

args = r.parse("twisted.web.wsgi")
app = r.load_app(args)

from twisted.internet import reactor  # noqa: E402
from twisted.web import server, wsgi  # noqa: E402

reactor.suggestThreadPoolSize(args.threads)
site = server.Site(wsgi.WSGIResource(reactor, reactor.getThreadPool(), app))
site.log = lambda request: None  # no access log, as for every server
reactor.listenTCP(args.port, site, backlog=1024, interface=args.host)
reactor.run()
