"""Real readiness and response checks: HTTP status, content type and body shape.

Used twice: as a service's readiness check (poll until the answer is right) and to verify an
endpoint before any load is timed (a wrong answer fails the experiment, naming the service).
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perflab.services.service import LOOPBACK, Service


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def get(svc: Service, path: str, timeout_s: float = 2.0) -> Answer:
    """One GET to the service (TCP port or Unix socket); OSError when it does not answer."""
    if svc.socket_path is not None:
        conn = _UnixHTTPConnection(str(svc.socket_path), timeout_s)
    else:
        conn = http.client.HTTPConnection(LOOPBACK, svc.port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return Answer(resp.status, resp.getheader("Content-Type", ""), resp.read())
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer: {exc}") from None
    finally:
        conn.close()


@dataclass(frozen=True)
class Expect:
    """What a right answer looks like: status, content type prefix, and the body's shape."""

    path: str = "/"
    status: int = 200
    content_type: str = ""
    # 整个响应体必须等于它（JSON 时比较解析后的值），或由 body_check 判断
    json_body: Any = None
    body_contains: bytes = b""
    body_check: Callable[[bytes], str | None] | None = None

    def problem(self, answer: Answer) -> str | None:
        """None if the answer is right, else what is wrong (one short phrase)."""
        if answer.status != self.status:
            return f"GET {self.path} answered status {answer.status}, expected {self.status}"
        if self.content_type and not answer.content_type.startswith(self.content_type):
            return (
                f"GET {self.path} answered content type {answer.content_type or 'none'!r}, "
                f"expected {self.content_type!r}"
            )
        if self.json_body is not None:
            try:
                got = json.loads(answer.body)
            except ValueError:
                return f"GET {self.path} answered a body that is not JSON: {answer.body[:60]!r}"
            if got != self.json_body:
                return f"GET {self.path} answered {got!r}, expected {self.json_body!r}"
        if self.body_contains and self.body_contains not in answer.body:
            return f"GET {self.path} body lacks {self.body_contains!r}: {answer.body[:60]!r}"
        if self.body_check is not None:
            return self.body_check(answer.body)
        return None


def http_ready(expect: Expect) -> Callable[[Service], str | None]:
    """A readiness check for start(): the endpoint answers, and answers right."""

    def check(svc: Service) -> str | None:
        try:
            return expect.problem(get(svc, expect.path, timeout_s=1.0))
        except OSError as exc:
            return f"GET {expect.path}: {exc.strerror or exc}"

    return check


def verify(svc: Service, expect: Expect, tries: int = 3) -> None:
    """Before any load: the endpoint must answer right every time; else fail naming the service."""
    for _ in range(tries):
        try:
            answer = get(svc, expect.path)
        except OSError as exc:
            raise svc.fail(f"verification failed: GET {expect.path}: {exc}") from None
        problem = expect.problem(answer)
        if problem:
            raise svc.fail(f"verification failed: {problem}")
