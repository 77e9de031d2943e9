"""Build a Go example once per source hash; later runs reuse the binary."""

from __future__ import annotations

import hashlib
from pathlib import Path

from perflab import files, paths, protogen, toolchain
from perflab.errors import PerflabError
from perflab.runner import run_group, tail


def module_root(package: Path) -> Path:
    for parent in [package, *package.parents]:
        if (parent / "go.mod").is_file():
            return parent
    raise PerflabError(f"{package}: no go.mod above this Go package")


def source_files(package: Path) -> list[Path]:
    """What the binary depends on: the package's files plus go.mod and go.sum.

    Code generated from a .proto inside the package is brought up to date first (protogen).
    """
    protogen.ensure_go_for(package)
    root = module_root(package)
    files = sorted(p for p in package.rglob("*") if p.is_file() and not p.name.endswith("_test.go"))
    files += [p for p in (root / "go.mod", root / "go.sum") if p.is_file()]
    return files


def source_hash(package: Path) -> str:
    digest = hashlib.sha256()
    for path in source_files(package):
        digest.update(paths.relative(path).encode())
        digest.update(path.read_bytes())
    digest.update((toolchain.go_version() or "").encode())
    return digest.hexdigest()[:16]


def build(package: Path, label: str) -> Path:
    """Path to the built binary of `package`, building it only if its sources changed."""
    go = toolchain.require_go()
    root = module_root(package)
    binary = paths.cache_dir() / "bin" / f"{package.name}-{source_hash(package)}"
    if binary.is_file():
        return binary
    rel = "./" + str(package.relative_to(root))
    with files.replacing(binary) as tmp:
        done = run_group(
            [go, "build", "-o", str(tmp), rel], timeout_s=600, cwd=root, env=toolchain.go_env()
        )
        if done.returncode != 0 or done.timed_out:
            raise PerflabError(f"{label}: go build {rel} failed", detail=tail(done.stderr))
    return binary
