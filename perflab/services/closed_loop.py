"""Closed loop: wrk, bounded in time, loopback only, reporting through a Lua script."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from perflab.errors import PerflabError
from perflab.runner import run_command, tail
from perflab.services.outcome import LoadResult
from perflab.services.service import LOOPBACK

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
MAX_DURATION_S = 120.0


def require_loopback(url: str, generator: str) -> None:
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise PerflabError(
            f"{generator}: refusing to load {url}: only http://{LOOPBACK}:PORT targets are allowed"
        )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise PerflabError("missing tool: wrk not found on PATH (Debian package: wrk)")
    return path


@functools.cache
def wrk_version() -> str:
    """First line of `wrk -v` (it exits 1 after printing it), for provenance."""
    out = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True, timeout=30)
    lines = (out.stdout or out.stderr).strip().splitlines()
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." → "debian/4.1.0-3+b2"
    return lines[0].split()[1] if lines and len(lines[0].split()) > 1 else "unknown"


def wrk(
    url: str,
    *,
    target: str,
    connections: int,
    duration_s: float,
    timeout_s: float = 2.0,
    threads: int | None = None,
    cpus: list[int] | None = None,
    headers: Mapping[str, str] | None = None,
) -> LoadResult:
    """One bounded wrk run against a loopback URL; parse with parse_report().

    `headers` go on every request (say, an Authorization header for a guarded endpoint).
    """
    require_loopback(url, "wrk")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise PerflabError(f"wrk: duration {duration_s:g} s outside (0, {MAX_DURATION_S:g}]")
    for what, value in (("duration", duration_s), ("timeout", timeout_s)):
        if value != int(value) or value < 1:
            raise PerflabError(f"wrk: {what} {value:g} s must be whole seconds (wrk's syntax)")
    binary = require_wrk()
    threads = max(1, min(threads or len(cpus or [1]), connections))
    cmd = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(duration_s)}s",
        f"--timeout={int(timeout_s)}s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    # 每个请求都带的请求头（如受保护接口的 Authorization）；不许有换行，免得拼出别的头
    for name, value in (headers or {}).items():
        if not name or ":" in name or any(c in name + value for c in "\r\n"):
            raise PerflabError(f"wrk: header {name!r} is malformed")
        cmd[-1:-1] = ["-H", f"{name}: {value}"]
    # 超时值经环境变量交给报告脚本：它把超时的请求按这个值补进分位数
    env = {**os.environ, "PERFLAB_WRK_TIMEOUT_US": str(round(timeout_s * 1e6))}
    out = run_command(
        cmd, label=f"wrk {url}", timeout_s=duration_s + timeout_s + 30, cpus=cpus, env=env
    )
    return parse_report(out, target=target, connections=connections)


def parse_report(output: str, *, target: str, connections: int) -> LoadResult:
    """The last JSON line wrk_report.lua printed, as a LoadResult."""
    line = next((x for x in reversed(output.splitlines()) if x.startswith("{")), None)
    if line is None:
        raise PerflabError(f"wrk against {target}: no report in its output", detail=tail(output))
    data = json.loads(line)
    errors = data["errors"]
    statuses = {str(k): int(v) for k, v in data["statuses"].items()}
    timeouts = int(errors["timeout"])
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    # 超时的响应也被数进了状态码（它晚到了）：看不出它是几号状态，一律从 2xx 里扣掉（只会少算）
    good = max(0, ok - timeouts)
    socket_errors = {k: int(errors[k]) for k in ("connect", "read", "write") if errors[k]}
    answered = sum(statuses.values())
    failed = (answered - ok) + min(timeouts, ok) + sum(socket_errors.values())
    recorded = int(data["recorded"])
    timeout_us = float(data["timeout_us"])
    n = recorded + timeouts
    mean_us = (float(data["recorded_sum_us"]) + timeouts * timeout_us) / n if n else 0.0
    max_us = timeout_us if timeouts else float(data["max_us"] if recorded else 0)
    latency = {
        "mean": mean_us,
        "p50": data["p50_us"],
        "p90": data["p90_us"],
        "p99": data["p99_us"],
        "p999": data["p999_us"],
        "max": max_us,
    }
    return LoadResult(
        generator="wrk",
        target=target,
        duration_s=data["duration_us"] / 1e6,
        good=good,
        failed=failed,
        timeouts=timeouts,
        timeout_s=timeout_us / 1e6,
        statuses=statuses,
        latency_s={k: float(v) / 1e6 for k, v in latency.items()},
        socket_errors=socket_errors,
        in_flight_max=connections,
        latency_samples=recorded,
    )
