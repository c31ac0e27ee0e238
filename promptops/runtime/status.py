"""The runtime's acknowledgement: what this process serves now.

`promptops rollback --wait --probe URL` polls it until every probe reports the rollback
target, which turns "the pointer changed" into "the application serves it" (registry.md 6.11).
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from promptops.runtime.store import PromptStore

STATUS_SCHEMA = "promptops/status@1"
STATUS_PATH = "/promptops/status"


def store_status(store: PromptStore) -> dict[str, Any]:
    """{schema, env, pid, prompts: {name: {version, behaviorHash, source, model, canary?}}}."""
    prompts: dict[str, Any] = {}
    for name in store.deployed():
        try:
            stable, weight, canary = store.serving(name)
        except Exception as exc:  # one broken prompt must not hide the others
            prompts[name] = {"error": str(getattr(exc, "what", None) or exc)}
            continue
        item: dict[str, Any] = {"version": stable.version, "behaviorHash": stable.behaviour_hash,
                                "source": stable.source, "model": stable.model}
        if canary is not None:
            item["canary"] = {"version": canary.version, "weight": weight}
        prompts[name] = item
    return {"schema": STATUS_SCHEMA, "env": store.env, "pid": os.getpid(), "prompts": prompts}


def serve_status(store: PromptStore, host: str = "127.0.0.1",
                 port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve GET /promptops/status from a daemon thread; (server, url). `server.shutdown()`
    stops it. Mount `store_status` in your own web framework instead when you have one."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != STATUS_PATH:
                self.send_error(404)
                return
            body = json.dumps(store_status(store)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # probes every second; not worth a log line each

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="promptops-status", daemon=True).start()
    bound_host, bound_port = server.server_address[:2]
    return server, f"http://{bound_host!s}:{bound_port}{STATUS_PATH}"
