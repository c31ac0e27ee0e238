"""Use-case helper: wait until running applications serve a version (`--probe URL`).

Each probe is a runtime status endpoint (`promptops.runtime.serve_status`, or `store_status`
mounted in the application). A rollback is confirmed when every probe reports the target.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from promptops.core.errors import ConfigError


@dataclass(frozen=True)
class Confirmation:
    """What the probes reported: confirmed or not, how long it took, each probe's last word."""

    version: str
    confirmed: bool
    seconds: float
    probes: tuple[tuple[str, str], ...]  # (url, "serves 1.2.0" | "unreachable: ..." | ...)


def check_probes(probes: Sequence[str]) -> None:
    """Refuse anything but http(s) URLs before the rollback writes anything."""
    for url in probes:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--probe {url!r} is not an http(s) URL",
                              fix="point it at the runtime status endpoint, e.g. "
                              "http://app:8080/promptops/status")


def _ask(url: str, name: str, timeout_s: float) -> tuple[str | None, str]:
    """(version served, description) from one probe."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            data = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        return None, f"unreachable: {exc}"
    item = (data.get("prompts") or {}).get(name) if isinstance(data, dict) else None
    if not isinstance(item, dict):
        return None, f"does not serve {name}"
    if item.get("error"):
        return None, f"error: {item['error']}"
    version = item.get("version")
    return (str(version) if version is not None else None), f"serves {version}"


def wait_for(probes: Sequence[str], name: str, version: str, timeout_s: float, *,
             interval_s: float = 1.0,
             sleep: Callable[[float], None] = time.sleep) -> Confirmation:
    """Poll every probe until all report name@version, or until `timeout_s` has passed."""
    start = time.monotonic()
    last = {url: "not asked yet" for url in probes}
    pending = list(probes)
    while True:
        for url in list(pending):
            remaining = max(0.5, timeout_s - (time.monotonic() - start))
            served, last[url] = _ask(url, name, min(5.0, remaining))
            if served == version:
                pending.remove(url)
        elapsed = time.monotonic() - start
        if not pending or elapsed >= timeout_s:
            return Confirmation(version, not pending, round(elapsed, 3),
                                tuple((u, last[u]) for u in probes))
        sleep(min(interval_s, max(0.0, timeout_s - elapsed)))
