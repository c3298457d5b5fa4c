# werkzeug's development server in threaded mode: one thread per connection.
import logging

import wsgibench_runner as r
from werkzeug.serving import run_simple

args = r.parse("werkzeug.serving.run_simple")
app = r.load_app(args)
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log
run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
