"""How much does measuring cost a rebuild? Times a cached rebuild against the same pages with
execution turned off (exec blocks shown as plain code, no perflab hook), the two kinds of build
taking turns so that other load on the machine falls on both. Prints medians, the range of the
per-pair ratios, and the largest built page (inline SVG charts are most of a page's weight).

    .venv/bin/python scripts/bench_build.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(config: Path, site: Path) -> float:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-q",
            "-f",
            str(config),
            "-d",
            str(site),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def noexec_config(docs: Path) -> str:
    """mkdocs.yml with the copied docs and neither the perflab hook nor notebook execution."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("docs_dir: docs", f"docs_dir: {docs}")
    for hook in ("hooks/perflab_hooks.py", "hooks/notebooks.py"):
        assert f"  - {hook}\n" in text, hook
        text = text.replace(f"  - {hook}\n", "")
    assert f"docs_dir: {docs}" in text
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docs = tmp / "docs"
        shutil.copytree(ROOT / "docs", docs)
        for page in docs.rglob("*.md"):
            text = page.read_text(encoding="utf-8")
            page.write_text(text.replace('exec="1"', 'exec="0"'), encoding="utf-8")
        plain = ROOT / ".bench-noexec.yml"
        plain.write_text(noexec_config(docs), encoding="utf-8")
        try:
            build(ROOT / "mkdocs.yml", tmp / "warm")  # 先保证缓存是热的
            build(plain, tmp / "warm-plain")
            # 两种构建轮流跑：机器上别的负载同样落在两边，比值才公平
            cached, noexec = [], []
            for i in range(args.runs):
                cached.append(build(ROOT / "mkdocs.yml", tmp / f"c{i}"))
                noexec.append(build(plain, tmp / f"p{i}"))
            largest = max((tmp / "c0").rglob("*.html"), key=lambda f: f.stat().st_size)
            page = (largest.relative_to(tmp / "c0").as_posix(), largest.stat().st_size)
        finally:
            plain.unlink()
    c, p = statistics.median(cached), statistics.median(noexec)
    print(f"cached rebuild       median {c:.2f} s  {[round(x, 2) for x in cached]}")
    print(f"execution turned off median {p:.2f} s  {[round(x, 2) for x in noexec]}")
    pairs = sorted(a / b for a, b in zip(cached, noexec, strict=True))
    print(f"ratio {c / p:.2f}×  (per pair: {pairs[0]:.2f}–{pairs[-1]:.2f}×)")
    print(f"largest page {page[0]}: {page[1]:,} bytes")


if __name__ == "__main__":
    main()
