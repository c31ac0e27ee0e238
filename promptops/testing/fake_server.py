"""A fake OpenAI/Anthropic HTTP server (stdlib only) for tests and benchmarks.

Run standalone: ``python -m promptops.testing.fake_server --port 0 --latency-ms 200 --rpm 600``
prints ``URL http://127.0.0.1:PORT`` and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any

from promptops.testing import fake_anthropic
from promptops.testing import fake_wire as wire
from promptops.testing.fake_wire import Api, FakeReply, FakeRequest
from promptops.testing.faults import Fault

__all__ = ["FakeReply", "FakeRequest", "FakeServer", "Fault", "Responder", "main"]

Responder = Callable[[FakeRequest], str | FakeReply]
_ROUTES: dict[str, Api] = {
    "/v1/chat/completions": "openai",
    "/chat/completions": "openai",
    "/v1/messages": "anthropic",
}
DISCONNECTED = 0  # responses_by_status key for requests answered by closing the socket


PersistentFault = Fault | Callable[[FakeRequest], Fault | None]


def echo(req: FakeRequest) -> str:
    """Default responder: the text of the last user message."""
    return req.last_user_text


class _Handler(BaseHTTPRequestHandler):
    """Request handler; all state lives on the server."""

    server: FakeServer
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    disable_nagle_algorithm = True  # avoid Nagle/delayed-ACK stalls on small responses

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr logging."""

    def setup(self) -> None:
        """Track the connection so stop() can close idle keep-alive sockets."""
        super().setup()
        self.server._track(self.connection, add=True)

    def finish(self) -> None:
        """Untrack the connection."""
        try:
            super().finish()
        finally:
            self.server._track(self.connection, add=False)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
        ctype: str = "application/json",
    ) -> None:
        # One write for head + body: cheaper than send_response()/send_header() per line.
        head = wire.http_head(status, ctype, len(body), headers, close=self.close_connection)
        self.server._record(status)  # before the write, so clients never see a stale counter
        try:
            self.wfile.write(head + body)
        except OSError:  # client went away (e.g. it timed out first)
            self.close_connection = True

    def _drop(self) -> None:
        self.server._record(DISCONNECTED)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        """Serve ``GET /v1/models``."""
        path = self.path.split("?", 1)[0]
        is_anthropic = "anthropic-version" in self.headers
        if path not in ("/v1/models", "/models"):
            self._send(404, wire.openai_error(404, f"Unknown path {path}"))
        elif is_anthropic:
            self._send(200, fake_anthropic.models(self.server.models))
        else:
            self._send(200, wire.openai_models(self.server.models))

    def do_POST(self) -> None:
        """Serve Chat Completions and Messages requests."""
        srv = self.server
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        api = _ROUTES.get(path)
        if api is None:
            self._send(404, wire.openai_error(404, f"Unknown path {path}"))
            return
        rid_header = "x-request-id" if api == "openai" else "request-id"
        request_id = wire.next_id("req_")
        hdrs = [(rid_header, request_id)]
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
        except ValueError as exc:
            msg = f"Invalid JSON body: {exc}"
            self._send(400, wire.error_body(api, 400, msg, request_id), hdrs)
            return
        req = wire.parse_request(api, path, body, {k.lower(): v for k, v in self.headers.items()})
        srv._log(req)

        wait = srv._rate_check()
        fault = srv._next_fault(req) if wait is None else None
        if srv.latency_ms > 0 and srv._stopping.wait(srv.latency_ms / 1000):
            self._drop()
            return
        if wait is not None:
            msg = f"Rate limit of {srv.rpm_limit} requests per minute exceeded"
            hdrs.append(("retry-after", f"{wait:g}"))
            self._send(429, wire.error_body(api, 429, msg, request_id), hdrs)
            return
        if fault is not None and fault.kind != "ok":
            if fault.kind == "status":
                self._send_status_fault(api, fault, request_id, hdrs)
                return
            if fault.kind == "garbage":
                self._send(200, wire.GARBAGE, hdrs)
                return
            if fault.kind == "disconnect":
                self._drop()
                return
            if srv._stopping.wait(fault.seconds):  # "timeout": stall, then answer normally
                self._drop()
                return
        self._answer(req, request_id, hdrs)

    def _send_status_fault(
        self, api: Api, fault: Fault, request_id: str, hdrs: list[tuple[str, str]]
    ) -> None:
        if fault.retry_after is not None:
            hdrs.append(("retry-after", f"{fault.retry_after:g}"))
        if fault.retry_after_ms is not None:
            hdrs.append(("retry-after-ms", f"{fault.retry_after_ms:g}"))
        if isinstance(fault.body, dict):
            payload = wire.dumps(fault.body)
        else:
            msg = fault.body or f"Injected fault: HTTP {fault.code}"
            payload = wire.error_body(api, fault.code, msg, request_id)
        self._send(fault.code, payload, hdrs)

    def _answer(self, req: FakeRequest, request_id: str, hdrs: list[tuple[str, str]]) -> None:
        try:
            out = self.server.responder(req)
        except Exception as exc:  # surface responder bugs to the client instead of hanging
            msg = f"Responder raised {type(exc).__name__}: {exc}"
            self._send(500, wire.error_body(req.api, 500, msg, request_id), hdrs)
            return
        reply = out if isinstance(out, FakeReply) else FakeReply(text=str(out))
        if req.stream:
            self._stream(reply, req, hdrs)
            return
        payload, ctype = wire.encode_reply(req, reply)
        if req.api == "openai":  # like OpenAI: the server's own time, here the scripted latency
            hdrs = [*hdrs, ("openai-processing-ms", f"{self.server.latency_ms:.0f}")]
        self._send(200, payload, hdrs, ctype=ctype)

    def _stream(self, reply: FakeReply, req: FakeRequest, hdrs: list[tuple[str, str]]) -> None:
        """Send an SSE reply one event per write, so clients see each event as it is sent."""
        events, first = wire.encode_stream(req, reply)
        hdrs.append(("Cache-Control", "no-cache"))
        head = wire.http_head(200, wire.SSE_CTYPE, sum(map(len, events)), hdrs,
                              close=self.close_connection)
        self.server._record(200)
        try:
            self.wfile.write(head)
            for i, event in enumerate(events):
                self.wfile.write(event)
                if i == first and (reply.cut_after_first or not self._held(reply)):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:  # client went away mid-stream
            self.close_connection = True

    def _held(self, reply: FakeReply) -> bool:
        """Wait for the reply's `hold` event; False when the server stops first."""
        while reply.hold is not None and not reply.hold.wait(0.02):
            if self.server._stopping.is_set():
                return False
        return True


class FakeServer(ThreadingHTTPServer):
    """Fake OpenAI + Anthropic API on 127.0.0.1, served from a daemon thread."""

    daemon_threads = True
    block_on_close = False  # stalled handler threads must not block stop()
    request_queue_size = 512  # listen backlog: many concurrent clients connect at once

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.responder: Responder = echo
        self.latency_ms: float = 0.0
        self.rpm_limit: int | None = None
        self.models: tuple[str, ...] = ("gpt-4o-mini", "claude-haiku-4-5")
        self._lock = threading.Lock()
        self._script: collections.deque[Fault] = collections.deque()
        self._always: PersistentFault | None = None
        self._log_list: list[FakeRequest] = []
        self._statuses: dict[int, int] = {}
        self._window: collections.deque[float] = collections.deque()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._serve_thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for ``openai.OpenAI(base_url=...)``."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for ``anthropic.Anthropic(base_url=...)``."""
        return self.url

    def start(self) -> FakeServer:
        """Start serving in a daemon thread (idempotent)."""
        if self._serve_thread is None:
            self._serve_thread = threading.Thread(
                target=self.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name=f"FakeServer:{self.server_address[1]}",
            )
            self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and all open connections (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()  # wakes handlers stalled by latency/timeout faults
        if self._serve_thread is not None:
            self.shutdown()
            self._serve_thread.join()
        self.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore connection errors from clients that vanished; report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    # ------------------------------------------------------------ scripting

    def script(self, *faults: Fault) -> None:
        """Queue faults; each incoming model request consumes one (FIFO)."""
        with self._lock:
            self._script.extend(faults)

    def fail_always(self, fault: PersistentFault | None) -> None:
        """Apply `fault` (or `fault(request)`, None = no fault) whenever the script is empty."""
        with self._lock:
            self._always = fault

    def reset(self) -> None:
        """Clear the script, persistent fault, request log, counters and rate-limit window."""
        with self._lock:
            self._script.clear()
            self._always = None
            self._log_list.clear()
            self._statuses.clear()
            self._window.clear()

    # ------------------------------------------------------------ introspection

    @property
    def requests(self) -> list[FakeRequest]:
        """Snapshot of every model request received, faulted ones included."""
        with self._lock:
            return list(self._log_list)

    @property
    def responses_by_status(self) -> dict[int, int]:
        """Snapshot of response counts by HTTP status (0 = disconnected)."""
        with self._lock:
            return dict(self._statuses)

    def count(self, status: int | None = None) -> int:
        """Number of model requests received, or of responses sent with `status`."""
        with self._lock:
            return len(self._log_list) if status is None else self._statuses.get(status, 0)

    # ------------------------------------------------------------ handler hooks

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _log(self, req: FakeRequest) -> None:
        with self._lock:
            self._log_list.append(req)

    def _record(self, status: int) -> None:
        with self._lock:
            self._statuses[status] = self._statuses.get(status, 0) + 1

    def _next_fault(self, req: FakeRequest) -> Fault | None:
        with self._lock:
            if self._script:
                return self._script.popleft()
            always = self._always
        if always is None or isinstance(always, Fault):
            return always
        return always(req)

    def _rate_check(self) -> float | None:
        """Admit the request (None) or return seconds until a slot frees in the 60 s window."""
        limit = self.rpm_limit
        if not limit:
            return None
        now = time.monotonic()
        with self._lock:
            window = self._window
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) < limit:
                window.append(now)
                return None
            return max(wire.ceil_ms(window[0] + 60.0 - now), 0.001)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m promptops.testing.fake_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rpm", type=int, default=None, help="server-side requests/minute limit")
    parser.add_argument("--reply", default=None, help="answer this fixed text instead of echoing")
    args = parser.parse_args(argv)

    srv = FakeServer(port=args.port, host=args.host)
    srv.latency_ms = args.latency_ms
    srv.rpm_limit = args.rpm
    if args.reply is not None:
        fixed: str = args.reply
        srv.responder = lambda _req: fixed
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    srv.start()
    print(f"URL {srv.url}", flush=True)
    while not done.wait(0.5):  # a timed wait keeps the main thread responsive to signals
        pass
    srv.stop()
    # One machine-readable line for benchmarks: responses by HTTP status.
    counts = " ".join(f"{k}={v}" for k, v in sorted(srv.responses_by_status.items()))
    print(f"STATUS {counts}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
