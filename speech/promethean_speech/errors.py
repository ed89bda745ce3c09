"""Errors in the OpenAI shape (`{"error": {"message", "type", "param", "code"}}`), with a counter each."""
from __future__ import annotations

from collections import Counter
from threading import Lock


class ApiError(Exception):
    """An error answered to the client; `status` 4xx for bad input, 5xx for the server's own failures."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None, type_: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.type = type_ or ("invalid_request_error" if status < 500 else "server_error")

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class Counters:
    """Thread-safe named counters (requests, errors by code), served at /health."""

    def __init__(self) -> None:
        self._c: Counter[str] = Counter()
        self._lock = Lock()

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._c[name] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._c.items()))
