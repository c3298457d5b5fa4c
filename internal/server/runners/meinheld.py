# meinheld: a C server on picoev with greenlets, one process.
from meinheld import server

import wsgibench_runner as r

args = r.parse("meinheld")
app = r.load_app(args)
server.listen((args.host, args.port))
server.set_keepalive(5)
server.run(app)
