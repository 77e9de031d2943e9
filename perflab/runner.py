"""Run one example in a fresh process: pinned, time-limited, its whole process group cleaned up.

The contract with an example is tiny: arguments in, one JSON object on stdout out.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perflab import contention, units
from perflab.errors import PerflabError

STDERR_TAIL_LINES = 12


def pick_cpus(count: int | None) -> list[int] | None:
    """The first `count` CPUs this process may use, or None to leave affinity alone."""
    available = sorted(os.sched_getaffinity(0))
    if count is None or count >= len(available):
        return None
    return available[: max(count, 1)]


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM end this process like Ctrl-C does: by an exception, so every `finally`
    that stops an example's process group or a server still runs. Without it, a build killed
    with TERM (a CI timeout, `kill PID`) leaves the groups it started running."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, frame) -> None:
    # 只认第一次：收拾（停掉示例的进程组）不能被紧跟着的第二个 TERM 打断。父进程被 SIGKILL
    # 时，它的每个线程退出都会再发一次 PR_SET_PDEATHSIG 的信号（见 dies_with_parent）
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def kill_group(pgid: int) -> None:
    """SIGKILL every process still in the group (stray children of a crashed example too)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PR_SET_CHILD_SUBREAPER = 36


@functools.cache
def _prctl_function():
    """libc's prctl, or None where there is none (looked up once, never in a forked child)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _prctl(option: int, value: int) -> bool:
    """Linux prctl(option, value); False where the call is unavailable or fails."""
    prctl = _prctl_function()
    return prctl is not None and prctl(option, value, 0, 0, 0) == 0


@functools.cache
def become_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux prctl PR_SET_CHILD_SUBREAPER).

    A helper an example leaves behind when it exits (multiprocessing's forkserver, say) is
    then re-parented to us instead of to init, so `reap_group` can collect it and its CPU time
    counts as the example's own rather than as another process's (perflab.contention).
    Returns False where the call is unavailable; nothing else changes then.
    """
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def dies_with_parent(signum: int = signal.SIGTERM):
    """A preexec_fn for Popen: the child receives `signum` when the thread that started it
    ends (Linux PR_SET_PDEATHSIG), so a parent killed with SIGKILL leaves no child running.
    The signal may come more than once (each of a dying parent's threads that adopted the
    child sends it again). Call it in the thread that starts the child; libc is looked up
    here, before the fork."""
    parent = os.getpid()
    _prctl_function()

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, signum)
        if os.getppid() != parent:  # 父进程在设置之前就已退出
            os.kill(os.getpid(), signum)

    return preexec


def reap_group(pgid: int) -> None:
    """Wait for every member of the (killed) process group that is our child: the adopted
    orphans of an example. Their CPU time then joins this process's RUSAGE_CHILDREN."""
    while True:
        try:
            os.waitpid(-pgid, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in kept)


@dataclass(frozen=True)
class Finished:
    """How a process group ended: its exit status (negative: killed by that signal) and output."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    # 运行期间其他进程平均占用的 CPU 数（perflab.contention）；非 Linux 或运行太短时为 None
    background_cpus: float | None = None


def run_group(
    cmd: Sequence[str],
    *,
    timeout_s: float,
    cpus: list[int] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Finished:
    """Run cmd in a process group of its own and kill the whole group when it ends or times out.

    Output goes to temp files, not pipes: a stray child still holding a pipe cannot keep us
    waiting. Raises FileNotFoundError when cmd[0] does not exist; every other outcome is a
    Finished (check returncode and timed_out).
    """

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    timed_out = False
    become_subreaper()
    window = contention.Window.open()
    with (
        tempfile.TemporaryFile("w+", errors="replace") as out,
        tempfile.TemporaryFile("w+", errors="replace") as err,
    ):
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
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_group(proc.pid)
            proc.wait()
            reap_group(proc.pid)
        background = window.background_cpus()
        out.seek(0)
        err.seek(0)
        return Finished(proc.returncode, out.read(), err.read(), timed_out, background)


def run_command(cmd: Sequence[str], **options) -> str:
    """Run cmd and return its stdout; options and errors as run_checked."""
    return run_checked(cmd, **options).stdout


def run_checked(
    cmd: Sequence[str],
    *,
    label: str,
    timeout_s: float,
    cpus: list[int] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Finished:
    """Run cmd to a clean exit and return how it finished (stdout, background CPU load);
    a missing command, a timeout or a non-zero exit is a one-line PerflabError naming `label`."""
    try:
        done = run_group(cmd, timeout_s=timeout_s, cpus=cpus, cwd=cwd, env=env)
    except FileNotFoundError:
        raise PerflabError(f"{label}: cannot start {cmd[0]!r}: not found") from None
    if done.timed_out:
        raise PerflabError(f"{label}: timed out after {timeout_s:g} s and was stopped")
    if done.returncode != 0:
        how = (
            f"killed by signal {-done.returncode}"
            if done.returncode < 0
            else f"exited with status {done.returncode}"
        )
        raise PerflabError(f"{label}: example crashed ({how})", detail=tail(done.stderr))
    return done


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
        if metric["unit"] not in units.METRIC_UNITS:
            raise PerflabError(
                f"{label}: metric {name!r} has unit {metric['unit']!r}; use {units.allowed()} "
                "(base units: the page scales seconds to ms and bytes to MiB)"
            )
    return data
