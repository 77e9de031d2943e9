"""A real Redis (Debian's redis-server) as a service: loopback port and a Unix socket in its
own folder, persistence off, ready on PING, always stopped.

    redis_server()   start one; its version goes into provenance
    url(svc, via)    redis://127.0.0.1:PORT/0 or unix:///FOLDER/redis.sock
    client(svc, via) a redis-py client over TCP or the Unix socket

A missing binary is an error naming the Debian package; a missing client names the PyPI one.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
from collections.abc import Iterator

from perflab.errors import PerflabError
from perflab.services.service import LOOPBACK, Service, start

PACKAGE = "redis-server"
SOCKET = "redis.sock"


def require() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise PerflabError(
            f"missing tool: redis-server not found on PATH (Debian package: {PACKAGE}; "
            "scripts/setup.sh installs it)"
        )
    return path


def _redis_module():
    try:
        import redis
    except ImportError:
        raise PerflabError(
            "missing Python package: redis (pip install -r requirements.txt)"
        ) from None
    return redis


@functools.cache
def version() -> str:
    """'7.0.15' from `redis-server --version` ("Redis server v=7.0.15 sha=...")."""
    out = subprocess.run([require(), "--version"], capture_output=True, text=True, timeout=30)
    for part in out.stdout.split():
        if part.startswith("v="):
            return part[2:]
    return "unknown"


def url(svc: Service, via: str = "tcp") -> str:
    if via == "tcp":
        return f"redis://{LOOPBACK}:{svc.port}/0"
    if via == "unix":
        return f"unix://{svc.folder / SOCKET}"
    raise PerflabError(f"redis: unknown transport {via!r} (tcp or unix)")


def client(svc: Service, via: str = "tcp"):
    """A redis-py client to this server (decoded strings)."""
    return _redis_module().Redis.from_url(url(svc, via), decode_responses=True, socket_timeout=5)


def _ready(svc: Service) -> str | None:
    redis = _redis_module()
    try:
        for via in ("tcp", "unix"):
            conn = redis.Redis.from_url(url(svc, via), socket_timeout=1)
            try:
                if not conn.ping():
                    return f"PING over {via} did not answer PONG"
            finally:
                conn.close()
    except redis.RedisError as exc:
        return f"PING: {exc}"
    return None


@contextlib.contextmanager
def redis_server(
    *, cpus: list[int] | None = None, port: int | None = None, startup_timeout_s: float = 15.0
) -> Iterator[Service]:
    """redis-server on 127.0.0.1 (a free port unless `port` is given) and on a Unix socket in
    its folder; no RDB snapshots, no append-only file, nothing written outside the folder."""
    binary = require()
    _redis_module()
    argv = [
        binary,
        "--bind", LOOPBACK,
        "--port", "{port}",
        "--unixsocket", "{dir}/" + SOCKET,
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", "{dir}",
        "--daemonize", "no",
        "--protected-mode", "yes",
        "--loglevel", "warning",
    ]  # fmt: skip

    with start(
        "redis-server",
        argv,
        ready=_ready,
        cpus=cpus,
        port=port,
        startup_timeout_s=startup_timeout_s,
        version=version(),
    ) as svc:
        yield svc
