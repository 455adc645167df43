"""A threaded HTTP server on 127.0.0.1 for client tests: files under a root (``Range`` supported),
scripted routes, and injected faults (status replies, connections dropped mid-body)."""
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PUT(self):
        self.handle_request("PUT")

    def handle_request(self, method):
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server.requests.append((method, self.path, dict(self.headers), body))
        faults = server.faults.get(self.path)
        if faults:
            status = faults.pop(0)
            return self.reply(status, b"injected %d" % status)
        route = server.routes.get((method, self.path.split("?")[0]))
        if route is not None:
            return self.reply(*route(self, body))
        if method == "GET" and server.root:
            return self.send_file(os.path.join(server.root, self.path.lstrip("/").split("?")[0]))
        self.reply(404, b"not found")

    def send_file(self, path):
        if not os.path.isfile(path):
            return self.reply(404, b"no such file")
        with open(path, "rb") as f:
            data = f.read()
        start, status, headers = 0, 200, {}
        spec = self.headers.get("Range", "")
        if spec.startswith("bytes=") and not self.server.ignore_range:
            first, _, last = spec[6:].partition("-")
            start = int(first)
            end = int(last) + 1 if last else len(data)
            if start >= len(data):
                return self.reply(416, b"", {"Content-Range": "bytes */%d" % len(data)})
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end - 1, len(data))
            data, status = data[start:end], 206
        drop = self.server.drop_after.pop(self.path, None)
        self.reply(status, data, headers, drop)

    def reply(self, status, body=b"", headers=None, drop=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if drop is not None:
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class TestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.root = root
        self.routes = {}
        self.faults = {}
        self.drop_after = {}
        self.ignore_range = False
        self.requests = []
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
