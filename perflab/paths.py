"""Where the book's files live; every path the engine uses is derived here."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """On-disk cache of results and builds; PERFLAB_CACHE_DIR moves it (tests use a temp dir)."""
    return Path(os.environ.get("PERFLAB_CACHE_DIR") or ROOT / ".perflab-cache")


def experiments_file() -> Path:
    return Path(os.environ.get("PERFLAB_EXPERIMENTS") or ROOT / "experiments.toml")


def claims_file() -> Path:
    return Path(os.environ.get("PERFLAB_CLAIMS") or ROOT / "claims.toml")


def relative(path: Path) -> str:
    """A path as the book names it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
