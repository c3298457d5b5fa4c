"""A WSGI-to-ASGI bridge with a thread pool, for ASGI servers that cannot
serve WSGI themselves (hypercorn before 0.14).

asgiref's WsgiToAsgi is not used on purpose: it runs every WSGI call on one
shared thread (sync_to_async is thread-sensitive by default), which would
measure that bridge's serialisation rather than the server. Each request's
body is read fully, the app runs in a pool of WSGIBENCH_BRIDGE_THREADS
threads, and its response is sent once complete (fine for CRUD-sized
responses; not for streaming). Stdlib only.
"""
import asyncio
import importlib
import io
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def _load():
    spec = os.environ["WSGIBENCH_BRIDGE_APP"]
    module, _, name = spec.partition(":")
    obj = importlib.import_module(module)
    for part in (name or "application").split("."):
        obj = getattr(obj, part)
    return obj


_app = _load()
_threads = int(os.environ.get("WSGIBENCH_BRIDGE_THREADS", "10"))
_pool = ThreadPoolExecutor(max_workers=_threads)
_multiprocess = int(os.environ.get("WSGIBENCH_BRIDGE_WORKERS", "1")) > 1


def _environ(scope, body):
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    env = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "REMOTE_ADDR": str(client[0]),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": _threads > 1,
        "wsgi.multiprocess": _multiprocess,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH":
            key = name
        else:
            key = "HTTP_" + name
        env[key] = env[key] + "," + value if key in env else value
    return env


def _call(scope, body):
    state = {}
    out = []

    def start_response(status, headers, exc_info=None):
        if exc_info and state:
            raise exc_info[1].with_traceback(exc_info[2])
        state["status"] = int(status.split(" ", 1)[0])
        state["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return out.append

    result = _app(_environ(scope, body), start_response)
    try:
        for data in result:
            if data:
                out.append(data)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    return state["status"], state["headers"], b"".join(out)


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    loop = asyncio.get_running_loop()
    status, headers, body = await loop.run_in_executor(_pool, _call, scope, b"".join(chunks))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
