"""Where the book's files live; every path the engine uses is derived here."""

from __future__ import annotations

from pathlib import Path

from perflab import settings
from perflab.errors import PerflabError

ROOT = settings.ROOT


def cache_dir() -> Path:
    """On-disk cache of results and builds; PERFLAB_CACHE_DIR moves it (tests use a temp dir)."""
    return settings.cache_dir()


def registry_files() -> list[Path]:
    """The registry: every *.toml under registry/ (one file per page), or PERFLAB_REGISTRY.

    PERFLAB_REGISTRY may name a single file or a folder; tests point it at a temp book.
    """
    source = settings.registry_source()
    return sorted(source.rglob("*.toml")) if source.is_dir() else [source]


def page_for(registry_file: Path) -> str | None:
    """The page a registry file belongs to, from its place: registry/ch2/gc.toml → ch2/gc.md.

    None for a file that is not one folder deep under the registry (a test's single file).
    """
    source = settings.registry_source()
    try:
        parts = registry_file.resolve().relative_to(source.resolve()).parts
    except ValueError:
        return None
    return f"{parts[0]}/{Path(parts[1]).stem}.md" if len(parts) == 2 else None


def page_of(raw: dict, registry_file: Path, what: str) -> str:
    """A table's page: given by its place in registry/, or by its `page` field (which must agree).

    Raises PerflabError naming `what` when neither gives one, or when the two disagree.
    """
    derived, given = page_for(registry_file), raw.get("page")
    if given and derived and given != derived:
        raise PerflabError(
            f"{what} in {relative(registry_file)}: page {given!r} does not match the file's "
            f"place (registry/{derived.removesuffix('.md')}.toml belongs to docs/{derived})"
        )
    if not (given or derived):
        raise PerflabError(f"{what} in {relative(registry_file)}: no page (give page = ...)")
    return given or derived


def resolve(path: str) -> Path:
    """Paths in the registry are relative to the repository root (or absolute)."""
    return (ROOT / path).resolve()


def relative(path: Path) -> str:
    """A path as the book names it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
