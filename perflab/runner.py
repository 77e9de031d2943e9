"""Run one example in a fresh process: pinned, time-limited, its whole process group cleaned up.

The contract with an example is tiny: arguments in, one JSON object on stdout out.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from perflab.errors import PerflabError

STDERR_TAIL_LINES = 12


def pick_cpus(count: int | None) -> list[int] | None:
    """The first `count` CPUs this process may use, or None to leave affinity alone."""
    available = sorted(os.sched_getaffinity(0))
    if count is None or count >= len(available):
        return None
    return available[: max(count, 1)]


def kill_group(pgid: int) -> None:
    """SIGKILL every process still in the group (stray children of a crashed example too)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in kept)


def run_command(
    cmd: Sequence[str],
    *,
    label: str,
    timeout_s: float,
    cpus: list[int] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run cmd and return its stdout; any failure is a one-line PerflabError naming `label`."""

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    # 输出写进临时文件而不是管道：示例留下的子进程即使还握着管道，也不会让我们一直等下去
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            proc = subprocess.Popen(
                list(cmd),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=env,
                text=True,
                process_group=0,
                preexec_fn=pin if cpus else None,
            )
        except FileNotFoundError:
            raise PerflabError(f"{label}: cannot start {cmd[0]!r}: not found") from None
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise PerflabError(
                f"{label}: timed out after {timeout_s:g} s and was stopped"
            ) from None
        finally:
            kill_group(proc.pid)
            proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        how = (
            f"killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"exited with status {proc.returncode}"
        )
        raise PerflabError(f"{label}: example crashed ({how})", detail=tail(stderr))
    return stdout


def parse_output(stdout: str, label: str) -> dict:
    """The example's single JSON object, checked for the metrics shape the engine relies on."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        first = stdout.strip().splitlines()[:1]
        raise PerflabError(
            f"{label}: stdout is not one JSON object (starts with {first[0][:60]!r})"
            if first
            else f"{label}: printed nothing on stdout"
        ) from None
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict) or not metrics:
        raise PerflabError(f"{label}: output has no 'metrics' object")
    for name, metric in metrics.items():
        values = metric.get("values", [metric["value"]] if "value" in metric else None)
        if not values or not all(isinstance(v, int | float) for v in values):
            raise PerflabError(f"{label}: metric {name!r} has no numeric 'values'")
        metric["values"] = [float(v) for v in values]
        metric.setdefault("label", name)
        metric.setdefault("unit", "")
    return data
