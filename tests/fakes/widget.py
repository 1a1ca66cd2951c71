"""A website-widget client: socket.io as web/widget.js speaks it."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List


class Widget:
    """A socket.io client that talks like web/widget.js: session_request, then user_uttered."""

    def __init__(self, url: str, session_id: Any = None) -> None:
        import socketio

        self.client = socketio.Client(reconnection=False)
        self.received: List[Dict[str, Any]] = []
        self.session_id = None
        self._confirmed = threading.Event()
        self.client.on("bot_uttered", self.received.append)
        self.client.on("session_confirm", self._confirm)
        self.client.connect(url, wait_timeout=20)
        self.client.emit("session_request", {"session_id": session_id})
        assert self._confirmed.wait(20), "no session_confirm"

    def _confirm(self, session_id: Any) -> None:
        if self.session_id is None:
            self.session_id = session_id
        self._confirmed.set()

    def emit(self, payload: Any, timeout: float = 60) -> None:
        """user_uttered, returning once the server has handled it (the acknowledgement)."""
        self.client.call("user_uttered", payload, timeout=timeout)

    def say(self, text: str) -> List[str]:
        before = len(self.received)
        self.emit({"message": text, "session_id": self.session_id})
        deadline = time.monotonic() + 10
        while len(self.received) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        return [m.get("text", "") for m in self.received[before:]]

    def close(self) -> None:
        self.client.disconnect()
