"""The playground's HTTP server: the Python standard library's ThreadingHTTPServer.

Routes (all JSON unless said otherwise; errors are ``{"error": message}``):

    GET  /                     the page (static/index.html); /static/<file> its CSS and JS
    GET  /events               server-sent events: "state" (layout, data, history) on
                               connect and on each reset, then "frame" (newest only)
    GET  /api/state            {"state": ..., "frame": ...}: the newest of each
    GET  /api/export/weights   the weights, safetensors (attachment)
    GET  /api/export/script    a Python script that rebuilds the model (attachment)
    POST /api/control          {"action": "play" | "pause" | "step" | "reset"}
    POST /api/config           a partial config, e.g. {"learning_rate": 0.1}
    POST /api/upload           CSV text: rows x1,x2,label (or x1,x2,target)
    POST /api/weight           {"layer": i, "to": j, "from": k or null (bias), "value": v}
    POST /api/predict          {"points": [[x1, x2], ...]} -> {"predictions": [...]}

Bad input gets 400 with a message; nothing a page sends reaches the model unvalidated.
Only loopback Host names are served (against DNS rebinding), and a POST from another
origin is refused.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import export
from .session import Session

STATIC = Path(__file__).with_name("static")
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
         ".png": "image/png"}
JSON_LIMIT = 1 << 20
CSV_LIMIT = 2 << 20
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
KEEPALIVE_S = 15.0
STALLED_TAB_S = 30.0


class HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Broadcaster:
    """Hands the newest "state" and "frame" payloads to every open event stream.

    ``publish`` only swaps a reference and wakes the streams, so the training thread never
    waits for a tab; a tab that is slow to read simply skips to the newest frame.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._items = {"state": (0, None), "frame": (0, None)}
        self.closed = False

    def publish(self, kind, payload):
        with self._cond:
            self._items[kind] = (self._items[kind][0] + 1, payload)
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait(self, seen, timeout):
        """[(kind, version, payload)] newer than ``seen`` ({kind: version}), state first;
        [] after ``timeout`` seconds with nothing new or once closed."""
        def fresh():
            return [(k, v, p) for k, (v, p) in self._items.items()
                    if v > seen[k] and p is not None]
        with self._cond:
            self._cond.wait_for(lambda: self.closed or fresh(), timeout)
            return [] if self.closed else fresh()


class PlaygroundServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to 127.0.0.1 that serves one :class:`Session`."""

    daemon_threads = True

    def __init__(self, session, broadcaster, port=8765, host="127.0.0.1", verbose=False):
        self.session, self.broadcaster, self.verbose = session, broadcaster, verbose
        self.static = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.is_file()}
        self._thread = None
        super().__init__((host, port), Handler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start_background(self):
        """Serve from a daemon thread (tests, benchmarks); returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="xpnn-playground-http",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stop streams, the training thread and the listening socket."""
        self.broadcaster.close()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
        self.session.stop()
        self.server_close()


def make_server(port=8765, backend="numpy", device=None, config=None, fps=30.0,
                verbose=False):
    """A started session and a bound (not yet serving) :class:`PlaygroundServer`.

    Args:
        port: TCP port on 127.0.0.1; 0 picks a free one (see ``server.url``).
        backend, device: where xpnn trains the model.
        config: initial settings (see ``xpnn.playground.config.DEFAULTS``).
        fps: the most frames per second streamed while training.
    """
    broadcaster = Broadcaster()
    session = Session(backend, device, config, publish=broadcaster.publish, fps=fps)
    session.start()
    try:
        return PlaygroundServer(session, broadcaster, port, verbose=verbose)
    except BaseException:
        session.stop()
        raise


class Handler(BaseHTTPRequestHandler):
    server_version = "xpnn-playground"
    protocol_version = "HTTP/1.1"

    # -- plumbing ------------------------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status=200):
        self._send(status, json.dumps(obj, allow_nan=False).encode())

    def _dispatch(self, routes):
        path = urlsplit(self.path).path
        self._consumed = self.command != "POST"
        try:
            self._check_host()
            route = routes.get(path)
            if route is None and self.command == "GET" and path.startswith("/static/"):
                route = Handler._static
            if route is None:
                known = any(path in r for r in (self.GET, self.POST))
                raise HTTPError(405 if known else 404,
                                f"{self.command} {path}: " + ("method not allowed" if known
                                                               else "no such page"))
            route(self)
        except HTTPError as e:
            self._error(e.status, str(e))
        except ValueError as e:            # validation: the message says what was wrong
            self._error(400, str(e))
        except (TimeoutError, RuntimeError) as e:
            self._error(503, str(e))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a bug must not take the server down
            self.log_error("%s %s failed: %r", self.command, path, e)
            self._error(500, f"internal error: {type(e).__name__}: {e}")

    def _error(self, status, message):
        if not self._consumed:
            self.close_connection = True   # an unread body must not be taken for a request
        try:
            self._json({"error": message}, status)
        except OSError:
            self.close_connection = True

    def _check_host(self):
        host = (self.headers.get("Host") or "").strip()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in LOCAL_HOSTS:
            raise HTTPError(403, f"Host {host!r} is not served (only 127.0.0.1/localhost)")
        origin = self.headers.get("Origin")
        if self.command == "POST" and origin not in (None, "null") and \
                urlsplit(origin).netloc != host:
            raise HTTPError(403, f"a POST from origin {origin!r} is not accepted")

    def _body(self, limit):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HTTPError(400, "chunked request bodies are not supported; send "
                                 "Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise HTTPError(411, "Content-Length is required")
        if not re.fullmatch(r"\d{1,10}", raw.strip()):
            self.close_connection = True
            raise HTTPError(400, f"bad Content-Length {raw!r}")
        length = int(raw)
        if length > limit:
            self.close_connection = True   # the body is not read: do not reuse the socket
            raise HTTPError(413, f"request body of {length} bytes; the limit is {limit}")
        body = self.rfile.read(length)
        self._consumed = True
        if len(body) != length:
            self.close_connection = True
            raise HTTPError(400, f"body has {len(body)} bytes, Content-Length said {length}")
        return body

    def _json_body(self):
        body = self._body(JSON_LIMIT)
        try:
            obj = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise HTTPError(400, f"the body is not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise HTTPError(400, f"expected a JSON object, got {type(obj).__name__}")
        return obj

    # -- GET -----------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch(self.GET)

    def do_HEAD(self):
        self._dispatch(self.GET)

    def do_POST(self):
        self._dispatch(self.POST)

    def do_PUT(self):
        self._dispatch({})

    do_DELETE = do_PATCH = do_PUT

    def _index(self):
        self._send(200, self.server.static["index.html"], TYPES[".html"])

    def _static(self):
        name = urlsplit(self.path).path[len("/static/"):]
        body = self.server.static.get(name) if re.fullmatch(r"[\w.-]+", name) else None
        if body is None:
            raise HTTPError(404, f"no static file {name!r}")
        self._send(200, body, TYPES.get(Path(name).suffix, "application/octet-stream"))

    def _state(self):
        latest = self.server.session.latest
        self._send(200, b'{"state":' + latest["state"] + b',"frame":' + latest["frame"] +
                   b"}")

    def _events(self):
        bc = self.server.broadcaster
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        # a tab that stops reading fails its writes after this, freeing the thread
        self.connection.settimeout(STALLED_TAB_S)
        seen = {"state": 0, "frame": 0}
        try:
            self.wfile.write(b"retry: 1000\n\n")
            while not bc.closed:
                items = bc.wait(seen, KEEPALIVE_S)
                if not items:
                    self.wfile.write(b": keep-alive\n\n")
                for kind, version, payload in items:
                    self.wfile.write(b"event: " + kind.encode() + b"\ndata: " + payload +
                                     b"\n\n")
                    seen[kind] = version
        except OSError:   # the tab went away (closed, reloaded, or stalled past the timeout)
            pass

    def _export_weights(self):
        body = self.server.session.call("export_weights")
        self._send(200, body, "application/octet-stream",
                   [("Content-Disposition", f'attachment; filename="{export.WEIGHTS_NAME}"')])

    def _export_script(self):
        body = self.server.session.call("export_script").encode()
        self._send(200, body, "text/x-python; charset=utf-8",
                   [("Content-Disposition", f'attachment; filename="{export.SCRIPT_NAME}"')])

    # -- POST ----------------------------------------------------------------------------
    def _control(self):
        self._json(self.server.session.call("control", _field(self._json_body(), "action")))

    def _config(self):
        self._json(self.server.session.call("config", self._json_body()))

    def _upload(self):
        body = self._body(CSV_LIMIT)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise HTTPError(400, f"upload: the CSV must be UTF-8 text ({e})") from None
        self._json(self.server.session.call("upload", text))

    def _weight(self):
        obj = self._json_body()
        args = [_field(obj, k) for k in ("layer", "to", "from", "value")]
        self._json(self.server.session.call("weight", *args))

    def _predict(self):
        self._json(self.server.session.call("predict", _field(self._json_body(), "points")))

    GET = {"/": _index, "/index.html": _index, "/events": _events, "/api/state": _state,
           "/api/export/weights": _export_weights, "/api/export/script": _export_script}
    POST = {"/api/control": _control, "/api/config": _config, "/api/upload": _upload,
            "/api/weight": _weight, "/api/predict": _predict}


def _field(obj, key):
    if key not in obj:
        raise HTTPError(400, f"the JSON body needs the field {key!r}; got {sorted(obj)}")
    return obj[key]


def _reject_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")
