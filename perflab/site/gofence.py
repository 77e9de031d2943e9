"""The ```go fence: run a short Go program at build time, with a timeout and an on-disk cache.

markdown-exec has neither a cache nor a timeout, and superfences silently drops a block whose
formatter raises anything but ExecutionError, so every failure here becomes ExecutionError.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
import time
from pathlib import Path

from markdown_exec import ExecutionError, base_format

from perflab import env, files, paths, runner, settings, toolchain
from perflab.errors import PerflabError

GO_MOD = "module gofence\n\ngo 1.24\n"
TAIL_LINES = 30


def cache_dir() -> Path:
    """Fence outputs, inside the engine's cache ($PERFLAB_CACHE_DIR or <repo>/.perflab-cache)."""
    return paths.cache_dir() / "gofence"


def format_go(**kwargs):
    return base_format(language="go", run=run_go, **kwargs)


def run_go(code: str, returncode: int = 0, session=None, id=None, **extra) -> str:  # noqa: A002
    try:
        return _run_cached(code, returncode)
    except ExecutionError:
        raise
    except Exception as exc:  # the fence must never fail silently
        raise ExecutionError(_message(f"go fence failed: {type(exc).__name__}: {exc}")) from exc


def _message(cause: str, detail: str = "") -> str:
    tail = "\n".join(detail.strip().splitlines()[-TAIL_LINES:])
    return f"{cause}\n\n```text\n{tail}\n```" if tail else cause


def _timeout() -> float:
    try:
        return settings.go_fence_timeout()
    except PerflabError as exc:
        raise ExecutionError(str(exc)) from None


def _run_cached(code: str, returncode: int) -> str:
    try:
        go = toolchain.require_go()
    except Exception as exc:
        raise ExecutionError(f"go fence: missing Go toolchain: {exc}") from exc
    version = toolchain.go_version() or "unknown"
    # 输出可能取决于机器（CPU 数等），所以机器也进键
    machine = json.dumps(env.machine(), sort_keys=True)
    key = hashlib.sha256(f"{version}\0{machine}\0{returncode}\0{code}".encode()).hexdigest()
    path = cache_dir() / f"{key}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["key"] == key and isinstance(entry["output"], str):
            return entry["output"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or malformed: run again
    output = _build_and_run(go, code, returncode, _timeout())
    with contextlib.suppress(OSError):  # an unwritable cache costs time, not correctness
        files.write_json(path, {"key": key, "go": version, "output": output})
    return output


def _build_and_run(go: str, code: str, returncode: int, timeout: float) -> str:
    env = toolchain.go_env()
    flags = [f for f in env.get("GOFLAGS", "").split() if not f.startswith(("-mod=", "-buildvcs"))]
    # A throwaway module: go.mod may be completed freely, no VCS stamping.
    env["GOFLAGS"] = " ".join([*flags, "-mod=mod", "-buildvcs=false"])
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="perflab-gofence-") as tmp:
        work = Path(tmp)
        (work / "go.mod").write_text(GO_MOD, encoding="utf-8")
        (work / "main.go").write_text(code, encoding="utf-8")
        binary = work / "main"
        rc, _, err = _go_run([go, "build", "-o", str(binary), "."], work, env, deadline, timeout)
        if rc != 0:
            raise ExecutionError(_message("go fence: compile error (go build failed)", err), rc)
        rc, out, err = _go_run([str(binary)], None, env, deadline, timeout)
        if rc != returncode:
            cause = f"go fence: program exited with status {rc}, expected {returncode}"
            raise ExecutionError(_message(cause, err or out), rc)
        return out


def _go_run(
    argv: list[str], cwd: Path | None, env: dict[str, str], deadline: float, timeout: float
) -> tuple[int, str, str]:
    """One step in its own process group (runner.run_group); a timeout is an ExecutionError."""
    done = runner.run_group(
        argv, timeout_s=max(deadline - time.monotonic(), 0.01), cwd=cwd, env=env
    )
    if done.timed_out:
        raise ExecutionError(_message(f"go fence: timed out after {timeout:g} s", done.stderr))
    return done.returncode, done.stdout, done.stderr
