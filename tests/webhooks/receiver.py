"""A merchant's webhook receiver for tests: a real HTTP server on a free loopback port, in
a thread, that keeps every request it gets and answers the statuses it is told to."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verified_by(self, secret: str) -> dict:
        """The payload, verified as a receiver would (raises when the signature fails)."""
        return Webhook(secret).verify(self.body, self.headers)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Answers `statuses` in turn (then `default`); `redirect_to` for a 3xx."""

    def __init__(self, statuses: list[int] | None = None, *, default: int = 200):
        self.statuses = list(statuses or [])
        self.default = default
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url("/elsewhere"))
                answer = f'{{"received": true, "status": {status}}}'.encode() + b" " * 2000
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posts(self, path: str = "/hooks") -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]
