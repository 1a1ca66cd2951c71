"""The one error type every handler raises; the app turns it into the contract's JSON body."""

from __future__ import annotations

from typing import Any, Dict, Optional


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str,
                 fields: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields

    def body(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"error": self.error, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


def invalid(fields: Dict[str, str]) -> ApiError:
    return ApiError(400, "invalid_request", "The request has invalid fields; see `fields`.", fields)
