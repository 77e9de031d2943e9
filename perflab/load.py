"""Servers under test and the wrk load generator, on loopback only.

A server runs in its own process group on a free 127.0.0.1 port chosen at run time and is
always stopped, even when the measurement fails. wrk runs on other CPUs than the server when
the machine has at least two, for a bounded duration, and reports through a Lua script.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from perflab import toolchain
from perflab.errors import PerflabError
from perflab.runner import kill_group, run_command, tail

LOOPBACK = "127.0.0.1"
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def split_cpus() -> tuple[list[int] | None, list[int] | None]:
    """(server CPUs, load-generator CPUs): disjoint halves when there are two or more CPUs."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


def wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float, label: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PerflabError(
                f"{label}: server exited with status {proc.returncode} before listening"
            )
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise PerflabError(
        f"{label}: server did not listen on {LOOPBACK}:{port} within {timeout_s:g} s"
    )


@dataclass
class RunningServer:
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


@contextlib.contextmanager
def serve(
    cmd: Sequence[str],
    *,
    label: str,
    cpus: list[int] | None = None,
    startup_timeout_s: float = 20.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[RunningServer]:
    """Start `cmd` with "{port}" replaced by a free port; stop its whole group on exit."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in cmd]
    with open(os.devnull, "w") as devnull, _stderr_file() as err:
        proc = subprocess.Popen(
            argv,
            stdout=devnull,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {}), "PORT": str(port)},
            cwd=cwd,
            process_group=0,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        try:
            try:
                wait_for_port(port, proc, startup_timeout_s, label)
            except PerflabError as exc:
                err.seek(0)
                raise PerflabError(str(exc), detail=tail(err.read())) from None
            yield RunningServer(port=port, pid=proc.pid)
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen, grace_s: float = 3.0) -> None:
    """SIGTERM the server's group, then SIGKILL whatever is left after a grace period."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    kill_group(proc.pid)
    proc.wait()


def _stderr_file():
    return tempfile.TemporaryFile("w+")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    errors: dict[str, int]
    latency_s: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def wrk(
    url: str,
    *,
    connections: int,
    duration_s: float,
    threads: int | None = None,
    cpus: list[int] | None = None,
    timeout_s: float | None = None,
    request_timeout_s: float = 5.0,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """One bounded wrk run against a loopback URL."""
    if not url.startswith((f"http://{LOOPBACK}:", "http://localhost:")):
        raise PerflabError(f"wrk: refusing to load {url}: only loopback targets are allowed")
    binary = toolchain.require_tool("wrk")
    threads = max(1, min(threads or len(cpus or [1]), connections))
    cmd = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        f"--timeout={request_timeout_s:g}s",
        "-s",
        str(WRK_SCRIPT),
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    out = run_command(cmd, label=f"wrk {url}", timeout_s=timeout_s or duration_s + 30, cpus=cpus)
    line = next((x for x in reversed(out.splitlines()) if x.startswith("{")), None)
    if line is None:
        raise PerflabError(f"wrk {url}: no report in its output", detail=tail(out))
    data = json.loads(line)
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        errors=data["errors"],
        latency_s={k: v / 1e6 for k, v in data["latency_us"].items()},
    )
