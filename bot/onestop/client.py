"""Client of the one-stop API (docs/onestop-openapi.yaml), built on requests.

The client never talks to the citizen: it returns an outcome (`DossierFound`,
`DossierNotFound`, `VerificationFailed`, `DraftCreated`, ...) or raises `OneStopUnavailable`
with a `kind` (unreachable, too_slow, refused, malformed), and the actions map each to a
Vietnamese answer. Reads are retried with backoff; writes are not (a retried POST could
create two drafts). A circuit breaker stops calling a system that keeps failing, so citizens
get an answer at once instead of waiting for every timeout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Union
from urllib.parse import quote

import requests

UNREACHABLE, TOO_SLOW, REFUSED, MALFORMED = "unreachable", "too_slow", "refused", "malformed"


class OneStopUnavailable(Exception):
    """The one-stop system could not give an answer; `kind` says why."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(frozen=True)
class DossierFound:
    dossier: Dict[str, Any]


@dataclass(frozen=True)
class DossierNotFound:
    pass


@dataclass(frozen=True)
class VerificationFailed:
    pass


@dataclass(frozen=True)
class LookupLocked:
    """The one-stop system itself refuses lookups of this code for a while (423, or 429
    `too_many_attempts`): honoured, never retried, not a failure of the system."""

    retry_after_s: Optional[float]


@dataclass(frozen=True)
class RequestRejected:
    """The system refused our request as malformed (400): a bug on our side, or bad data."""

    error: str
    fields: Dict[str, Any]


@dataclass(frozen=True)
class DraftCreated:
    code: str
    continue_url: str


LookupOutcome = Union[DossierFound, DossierNotFound, VerificationFailed, LookupLocked, RequestRejected]
DraftOutcome = Union[DraftCreated, RequestRejected]


class CircuitBreaker:
    """Open after `threshold` failures in a row; let one call through after `cooldown_s`."""

    def __init__(self, threshold: int = 5, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.cooldown_s, self.clock = threshold, cooldown_s, clock
        self.failures = 0
        self.opened_at: Optional[float] = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self.opened_at is None:
                return True
            return self.clock() - self.opened_at >= self.cooldown_s  # half-open: one try

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at = 0, None

    def hold(self, seconds: float) -> None:
        """The system asked us to wait (429 with Retry-After): open for that long."""
        with self._lock:
            self.failures = self.threshold
            self.opened_at = self.clock() - self.cooldown_s + max(0.0, seconds)

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.opened_at = self.clock()


_REQUIRED_DOSSIER_FIELDS = ("code", "procedure_name", "status", "history")


class OneStopClient:
    def __init__(self, base_url: str, token: str, connect_timeout_s: float = 2.0,
                 read_timeout_s: float = 5.0, read_retries: int = 2, backoff_s: float = 0.3,
                 breaker: Optional[CircuitBreaker] = None,
                 session: Optional[requests.Session] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.read_retries, self.backoff_s = read_retries, backoff_s
        self.breaker = breaker or CircuitBreaker()
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    # -- public API -------------------------------------------------------------------

    def lookup(self, code: str, verification: str) -> LookupOutcome:
        response = self._call(
            "GET", f"/api/v1/dossiers/{quote(code, safe='')}",
            params={"verification": verification}, retry=True, locks=True,
        )
        if response.status_code in (423, 429):
            return LookupLocked(retry_after(response))
        if response.status_code == 200:
            body = self._json(response)
            if not isinstance(body, dict) or any(k not in body for k in _REQUIRED_DOSSIER_FIELDS):
                raise OneStopUnavailable(MALFORMED, "dossier without its required fields")
            return DossierFound(body)
        if response.status_code == 404:
            return DossierNotFound()
        if response.status_code == 403:
            return VerificationFailed()
        return self._rejected(response)

    def create_draft(self, procedure_id: str, procedure_name: str, name: str, phone: str,
                     channel: str, id_number: Optional[str] = None,
                     locality: Optional[str] = None) -> DraftOutcome:
        applicant = {"name": name, "phone": phone}
        if id_number:
            applicant["id_number"] = id_number
        if locality:
            applicant["locality"] = locality
        response = self._call("POST", "/api/v1/dossiers", json={
            "procedure_id": procedure_id, "procedure_name": procedure_name,
            "applicant": applicant, "channel": channel,
        }, retry=False)
        if response.status_code == 201:
            body = self._json(response)
            if not isinstance(body, dict) or not body.get("code") or not body.get("continue_url"):
                raise OneStopUnavailable(MALFORMED, "draft without code or continue_url")
            return DraftCreated(body["code"], body["continue_url"])
        return self._rejected(response)

    def register_webhook(self, url: str, secret: str) -> str:
        response = self._call("POST", "/api/v1/webhooks", json={"url": url, "secret": secret}, retry=True)
        if response.status_code not in (200, 201):
            raise OneStopUnavailable(REFUSED, f"webhook registration answered HTTP {response.status_code}")
        body = self._json(response)
        if not isinstance(body, dict) or "id" not in body:
            raise OneStopUnavailable(MALFORMED, "webhook registration without id")
        return str(body["id"])

    # -- plumbing -----------------------------------------------------------------------

    def _call(self, method: str, path: str, retry: bool, locks: bool = False,
              **kwargs: Any) -> requests.Response:
        """`locks`: a 423, or a 429 whose error is `too_many_attempts`, is this request's own
        refusal (one dossier locked), returned to the caller. Any other 429 holds every call
        for its Retry-After."""
        if not self.breaker.allow():
            raise OneStopUnavailable(UNREACHABLE, "circuit open after repeated failures")
        attempts = 1 + (self.read_retries if retry else 0)
        last: Optional[OneStopUnavailable] = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff_s * (2 ** (attempt - 1)))
            try:
                response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
            except requests.exceptions.ConnectTimeout as error:
                last = OneStopUnavailable(UNREACHABLE, str(error))
            except requests.exceptions.Timeout as error:
                last = OneStopUnavailable(TOO_SLOW, str(error))
            except requests.exceptions.RequestException as error:
                last = OneStopUnavailable(UNREACHABLE, str(error))
            else:
                if locks and _locked(response):
                    self.breaker.success()  # the system answered; only this code is refused
                    return response
                if response.status_code == 429:
                    self.breaker.hold(retry_after(response) or self.breaker.cooldown_s)
                    raise OneStopUnavailable(REFUSED, "HTTP 429: asked to wait")
                if response.status_code >= 500 or response.status_code == 401:
                    last = OneStopUnavailable(REFUSED, f"HTTP {response.status_code}")
                else:
                    self.breaker.success()
                    return response
            if not retry:
                break
        self.breaker.failure()
        assert last is not None
        raise last

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            self.breaker.failure()
            raise OneStopUnavailable(MALFORMED, "answer is not JSON") from error

    def _rejected(self, response: requests.Response) -> RequestRejected:
        body = self._json(response) if response.content else {}
        if not isinstance(body, dict):
            raise OneStopUnavailable(MALFORMED, f"HTTP {response.status_code} without an error body")
        if response.status_code == 400:
            return RequestRejected(str(body.get("error", "invalid_request")), dict(body.get("fields") or {}))
        raise OneStopUnavailable(REFUSED, f"HTTP {response.status_code}: {body.get('error')}")


def _locked(response: requests.Response) -> bool:
    if response.status_code == 423:
        return True
    if response.status_code != 429:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "too_many_attempts"


def retry_after(response: requests.Response) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds only; dates are not used by the
    systems we talk to), bounded to a day; None when absent or unreadable."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw.isdigit():
        return None
    return float(min(int(raw), 24 * 3600))
