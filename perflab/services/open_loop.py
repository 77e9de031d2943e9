"""Open loop: vegeta at a fixed arrival rate, bounded in time, loopback only.

Requests are sent on schedule whether or not earlier ones have been answered, so a server
that falls behind shows it as queueing in the latencies (no coordinated omission). vegeta waits
for every request it sent (up to the client timeout), and a timed-out request is in its
latencies at about the timeout, with status 0.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from perflab import toolchain
from perflab.errors import PerflabError
from perflab.runner import run_command, tail
from perflab.services.closed_loop import MAX_DURATION_S, require_loopback
from perflab.services.outcome import LoadResult

VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
TIMEOUT_MARKERS = ("Timeout", "timeout", "deadline exceeded")


def require_vegeta() -> str:
    beside = Path(sys.executable).parent / "vegeta"
    if beside.is_file():
        return str(beside)
    path = shutil.which("vegeta")
    if path is None:
        raise PerflabError(
            f"missing tool: vegeta not found (Go module {VEGETA_MODULE}@v12.13.0; "
            "`make setup` installs it into .venv/bin)"
        )
    return path


@functools.cache
def go_module_version(binary: str, module: str) -> str:
    """The version of `module` built into a Go binary (`go version -m`), for provenance."""
    go = toolchain.find_go()
    if go is None or not Path(binary).is_file():
        return "unknown"
    out = subprocess.run([go, "version", "-m", binary], capture_output=True, text=True, timeout=30)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("mod", "dep") and parts[1] == module:
            return parts[2]
    return "unknown"


def vegeta_version() -> str:
    """vegeta's own `-version` is empty when built by `go install`; read the module version."""
    try:
        binary = require_vegeta()
    except PerflabError:
        return "not found"
    return go_module_version(binary, VEGETA_MODULE)


def vegeta(
    url: str,
    *,
    target: str,
    rate: float,
    duration_s: float,
    timeout_s: float = 2.0,
    cpus: list[int] | None = None,
) -> LoadResult:
    """Send GET url at `rate` requests per second for duration_s; parse with parse_report()."""
    require_loopback(url, "vegeta")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise PerflabError(f"vegeta: duration {duration_s:g} s outside (0, {MAX_DURATION_S:g}]")
    if rate <= 0:
        raise PerflabError(f"vegeta: rate {rate:g}/s must be positive")
    binary = require_vegeta()
    limit = duration_s + timeout_s + 30
    with tempfile.TemporaryDirectory(prefix="perflab-vegeta-") as tmp:
        (Path(tmp) / "targets").write_text(f"GET {url}\n")
        results = Path(tmp) / "results.bin"
        run_command(
            [
                binary,
                "attack",
                f"-targets={tmp}/targets",
                f"-rate={max(1, round(rate))}/s",
                f"-duration={duration_s:g}s",
                f"-timeout={timeout_s:g}s",
                f"-output={results}",
            ],
            label=f"vegeta attack {url}",
            timeout_s=limit,
            cpus=cpus,
        )
        out = run_command(
            [binary, "report", "-type=json", str(results)],
            label=f"vegeta report {url}",
            timeout_s=60,
            cpus=cpus,
        )
    return parse_report(out, target=target, rate=rate, timeout_s=timeout_s)


def parse_report(output: str, *, target: str, rate: float, timeout_s: float) -> LoadResult:
    """vegeta's JSON report (nanoseconds) as a LoadResult."""
    try:
        data = json.loads(output)
        lat = data["latencies"]
        statuses = {str(k): int(v) for k, v in (data.get("status_codes") or {}).items()}
        requests = int(data["requests"])
        errors = data.get("errors") or []
    except (ValueError, KeyError, TypeError) as exc:
        raise PerflabError(
            f"vegeta against {target}: unreadable report ({exc})", detail=tail(output)
        ) from None
    good = sum(n for code, n in statuses.items() if code.startswith("2"))
    # vegeta 把超时记为状态 0，错误文本只列出不同的几种：有超时字样时，状态 0 全按超时计
    zero = statuses.get("0", 0)
    timeouts = zero if any(m in e for e in errors for m in TIMEOUT_MARKERS) else 0
    socket_errors = {"other": zero - timeouts} if zero - timeouts else {}
    duration_s = (int(data["duration"]) + int(data.get("wait", 0))) / 1e9
    names = {"mean": "mean", "p50": "50th", "p90": "90th", "p99": "99th", "max": "max"}
    names["p95"] = "95th"  # 只有开环有 p95（wrk 的报告脚本不算它）
    latency = {k: int(lat[v]) / 1e9 for k, v in names.items()}
    latency["p999"] = latency["max"]  # vegeta 的 JSON 报告没有 99.9 分位；以最大值为上界
    return LoadResult(
        generator="vegeta",
        target=target,
        duration_s=duration_s,
        good=good,
        failed=requests - good,
        timeouts=timeouts,
        timeout_s=timeout_s,
        statuses=statuses,
        latency_s=latency,
        socket_errors=socket_errors,
        offered_rate=rate,
        sent_rate=float(data.get("rate", 0.0)),
    )
