"""A local fake of Zalo's OpenAPI message endpoint and OAuth token endpoint, for tests.

Runs on a free port in a thread. Like Zalo it checks the `access_token` header, answers
`{"error": 0}` or an error code, issues a new token pair on refresh and refuses a refresh
token used twice. It records every message per user so tests can wait for answers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs

from tests.fakes.server import ApiServer

INVALID_TOKEN = -216
EXPIRED_TOKEN = -220


def signature(app_id: str, raw: bytes, timestamp: str, oa_secret: str) -> str:
    return hashlib.sha256(app_id.encode("utf-8", "surrogatepass") + raw
                          + timestamp.encode("utf-8", "surrogatepass") + oa_secret.encode()).hexdigest()


def signed_event(body: Dict[str, Any], oa_secret: str, ascii_only: bool = False) -> Tuple[bytes, Dict[str, str]]:
    """The raw body and headers Zalo would send for `body`.

    `ascii_only`: non-ASCII characters as JSON escapes, the only way to send a lone surrogate.
    """
    raw = json.dumps(body, ensure_ascii=ascii_only).encode()
    mac = signature(str(body.get("app_id", "")), raw, str(body.get("timestamp", "")), oa_secret)
    return raw, {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}


_msg_ids = itertools.count(1)


def zalo_event(event_name: str, user_id: str, text: Optional[str] = None, *, app_id: str = "app1",
               oa_id: str = "oa-1", msg_id: Optional[str] = None) -> Dict[str, Any]:
    """A webhook event as Zalo shapes it (ids and timestamp as strings)."""
    event: Dict[str, Any] = {"app_id": app_id, "user_id_by_app": f"app-{user_id}",
                             "event_name": event_name, "timestamp": str(int(time.time() * 1000))}
    if event_name in ("follow", "unfollow"):
        event.update(oa_id=oa_id, follower={"id": user_id}, source="oa_profile")
        return event
    sender, recipient = (oa_id, user_id) if event_name.startswith("oa_send_") else (user_id, oa_id)
    message: Dict[str, Any] = {"msg_id": msg_id or f"msg-{next(_msg_ids)}-{time.time_ns()}"}
    if text is not None:
        message["text"] = text
    if event_name == "user_send_image":
        message["attachments"] = [{"type": "image", "payload": {"url": "https://example.invalid/a.jpg"}}]
    event.update(sender={"id": sender}, recipient={"id": recipient}, message=message)
    return event


class FakeZaloApi:
    def __init__(self, app_id: str = "app1", app_secret: str = "appsecret",
                 access_token: str = "tok1", refresh_token: str = "ref1") -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expired: Dict[str, int] = {}          # token -> error code it now gets
        self.used_refresh_tokens: Set[str] = set()
        self.refresh_attempts: List[str] = []      # every refresh token presented, in order
        self.refused_refreshes: List[str] = []
        self.failures: List[int] = []              # error codes to answer next, one per call
        self.calls: List[Dict[str, Any]] = []      # every message call: token, body, answer
        self._sent: Dict[str, List[Dict[str, Any]]] = {}
        self._issued = itertools.count(2)
        self._changed = threading.Condition()
        self._server = ApiServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeZaloApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expire_token(self, code: int = EXPIRED_TOKEN) -> str:
        """The current access token now gets `code`; returns that token."""
        with self._changed:
            self.expired[self.access_token] = code
            return self.access_token

    def fail_next(self, code: int, times: int = 1) -> None:
        with self._changed:
            self.failures.extend([code] * times)

    # --- inspection ---------------------------------------------------------------------
    def sent_to(self, user_id: str) -> List[Dict[str, Any]]:
        with self._changed:
            return list(self._sent.get(str(user_id), []))

    def texts_to(self, user_id: str) -> List[str]:
        return [m.get("text", "") for m in self.sent_to(user_id)]

    def wait_for(self, user_id: str, n: int, timeout: float = 30) -> List[Dict[str, Any]]:
        """The first `n` messages to `user_id`; AssertionError if they do not come in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._sent.get(str(user_id), [])) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{user_id} got {self._sent.get(str(user_id), [])}, expected {n} messages")
                self._changed.wait(left)
            return list(self._sent[str(user_id)])

    # --- the two endpoints --------------------------------------------------------------
    def _message(self, token: str, body: Any) -> Dict[str, Any]:
        with self._changed:
            if token in self.expired:
                answer = {"error": self.expired[token], "message": "Access token is invalid or expired"}
            elif token != self.access_token:
                answer = {"error": INVALID_TOKEN, "message": "Access token is invalid"}
            elif self.failures:
                answer = {"error": self.failures.pop(0), "message": "Programmed failure"}
            elif not isinstance(body, dict) or not isinstance(body.get("recipient"), dict) \
                    or not isinstance(body.get("message"), dict):
                answer = {"error": -201, "message": "Parameters are invalid"}
            else:
                user_id = str(body["recipient"].get("user_id"))
                text = body["message"].get("text")
                if isinstance(text, str) and len(text) > 2000:
                    answer = {"error": -201, "message": "Text is too long"}
                else:
                    self._sent.setdefault(user_id, []).append(body["message"])
                    answer = {"error": 0, "message": "Success",
                              "data": {"message_id": f"m{len(self.calls)}", "user_id": user_id}}
            self.calls.append({"token": token, "body": body, "answer": answer})
            self._changed.notify_all()
            return answer

    def _refresh(self, secret_key: str, form: Dict[str, str]) -> Dict[str, Any]:
        with self._changed:
            presented = form.get("refresh_token", "")
            self.refresh_attempts.append(presented)
            if secret_key != self.app_secret or form.get("app_id") != self.app_id:
                self.refused_refreshes.append(presented)
                return {"error": -14001, "error_name": "Invalid app", "error_description": "bad app"}
            if (form.get("grant_type") != "refresh_token" or presented != self.refresh_token
                    or presented in self.used_refresh_tokens):
                self.refused_refreshes.append(presented)
                return {"error": -14014, "error_name": "Invalid refresh token",
                        "error_description": "refresh token is invalid or already used"}
            self.used_refresh_tokens.add(presented)
            number = next(self._issued)
            self.access_token, self.refresh_token = f"tok{number}", f"ref{number}"
            self._changed.notify_all()
            return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                    "expires_in": "90000"}

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # keep test output clean
                pass

            def _answer(self, status: int, body: Dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0] == "/v3.0/oa/message/cs":
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                    self._answer(200, fake._message(self.headers.get("access_token", ""), body))
                elif self.path.split("?")[0] == "/v4/oa/access_token":
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    self._answer(200, fake._refresh(self.headers.get("secret_key", ""), form))
                else:
                    self._answer(404, {"error": 404, "message": "not found"})

        return Handler
