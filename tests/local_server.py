"""A local HTTP server in a thread, for the download tests (no network needed)."""
from __future__ import annotations

import contextlib
import http.server
import threading
import time


class RouteHandler(http.server.BaseHTTPRequestHandler):
    """Serves `routes`: path -> f(nth request of that path) -> (bytes, mode).

    mode: 'full'; 'cut' (the full Content-Length is sent, the connection closes halfway);
    'no-length' (half the bytes, no Content-Length: the client cannot tell it is short);
    'stall' (half the bytes, then silence for longer than the client's timeout).
    """

    routes: dict = {}
    requests: list = []

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, mode = route(self.requests.count(self.path))
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        if mode != "no-length":
            self.send_header("Content-Length", str(len(body)))  # the full size, even when we stop early
        self.end_headers()
        self.wfile.write(body if mode == "full" else body[: len(body) // 2])
        self.wfile.flush()
        if mode == "stall":
            time.sleep(1.5)  # longer than the client's timeout, then give up
        self.close_connection = True


@contextlib.contextmanager
def serve(routes: dict):
    """Yield a handler class with .base (the server's URL), .routes and .requests (paths asked for)."""
    handler = type("Handler", (RouteHandler,), {"routes": dict(routes), "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    handler.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield handler
    finally:
        httpd.shutdown()
        httpd.server_close()
