"""Provenance: what machine, system and toolchains produced a result."""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from perflab import toolchain
from perflab.paths import ROOT


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpus_available() -> list[int]:
    return sorted(os.sched_getaffinity(0))


@functools.cache
def os_name() -> str:
    try:
        info = platform.freedesktop_os_release()
        return info.get("PRETTY_NAME") or info.get("NAME", "Linux")
    except OSError:
        return platform.system()


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)


def git_commit() -> str:
    """Short commit of the checkout, with '+dirty' when tracked files differ from it."""
    try:
        head = _git("rev-parse", "--short=12", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = _git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _site_stamp() -> tuple[int, ...]:
    """Modification times of the import path's folders: installing, upgrading or removing a
    package adds or removes a *.dist-info folder in one of them, which changes its mtime."""
    stamps = []
    for entry in sys.path:
        try:
            stamps.append(os.stat(entry or ".").st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)


@functools.lru_cache(maxsize=512)
def _version(name: str, stamp: tuple[int, ...]) -> str:
    # importlib.metadata 每次都要找并解析 METADATA（约 1.5 ms）：同一套安装只问一次
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def library_versions(names: list[str]) -> dict[str, str]:
    """{name: installed version or "not installed"}, read again once anything is (un)installed."""
    stamp = _site_stamp()
    return {name: _version(name, stamp) for name in names}


def python_version() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


def machine() -> dict[str, object]:
    """The parts of the environment that change what a benchmark measures (used in cache keys)."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(cpus_available()),
        "arch": platform.machine(),
    }


def capture(profile: str, libraries: list[str] | None = None) -> dict[str, object]:
    """Full provenance for one measurement or one build."""
    return {
        **machine(),
        "os": os_name(),
        "kernel": platform.release(),
        "python": python_version(),
        "python_executable": sys.executable,
        "go": toolchain.go_version() or "not found",
        "libraries": library_versions(libraries or []),
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": profile,
    }
