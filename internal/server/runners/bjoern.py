# bjoern: a C server on libev running the app inline, one process.
import bjoern

import wsgibench_runner as r

args = r.parse("bjoern")
app = r.load_app(args)
bjoern.run(app, args.host, args.port)
