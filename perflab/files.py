"""Writing files so that a reader never sees half of one: a temp name beside it, then a rename."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; when the block succeeds it is renamed onto `path`.

    On an exception the temp file is removed and `path` keeps its old content. The temp name
    carries the process id, so two builds writing the same file do not share one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically (see `replacing`)."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, data: object, *, indent: int | None = None) -> Path:
    """Write JSON (non-ASCII kept as is) atomically."""
    return write_text(path, json.dumps(data, ensure_ascii=False, indent=indent) + "\n")
