"""Where the book's files live; every path the engine uses is derived here."""

from __future__ import annotations

from pathlib import Path

from perflab import settings

ROOT = settings.ROOT


def cache_dir() -> Path:
    """On-disk cache of results and builds; PERFLAB_CACHE_DIR moves it (tests use a temp dir)."""
    return settings.cache_dir()


def registry_files() -> list[Path]:
    """The registry: every *.toml in registry/ (one file per page), or PERFLAB_REGISTRY.

    PERFLAB_REGISTRY may name a single file or a folder; tests point it at a temp book.
    """
    source = settings.registry_source()
    return sorted(source.glob("*.toml")) if source.is_dir() else [source]


def resolve(path: str) -> Path:
    """Paths in the registry are relative to the repository root (or absolute)."""
    return (ROOT / path).resolve()


def relative(path: Path) -> str:
    """A path as the book names it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
