"""How fast do the pages open on a phone? Lighthouse's mobile performance run (slow 4G, 4× slower
CPU, simulated from a real load in the system Chromium) on the home page, the heaviest chapter
page and a notebook page of a quick build, served on 127.0.0.1 with gzip as a static host would.

A benchmark, not a test: the numbers depend on the machine and its load, so they are printed
(medians over --runs) and written to test-output/lighthouse.{json,md}, never compared with a
threshold. The accessibility audits, which do not depend on the machine, are asserted by
tests/site/test_lighthouse.py.

    .venv/bin/python scripts/lighthouse.py [--site DIR] [--runs 3] [--plain]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perflab.errors import PerflabError  # noqa: E402
from perflab.site import lighthouse  # noqa: E402

OUTPUT = ROOT / "test-output"


def build(site: Path) -> None:
    print(f"==> quick 档构建到 {site}", file=sys.stderr, flush=True)
    env = {**os.environ, "PERFLAB_PROFILE": "quick", "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PerflabError(f"the quick build failed:\n{proc.stderr[-3000:]}")


def measure(site: Path, runs: int, compress: bool) -> list[dict]:
    pages = lighthouse.checked_pages(site)
    rows = []
    with lighthouse.serve(site, compress=compress) as url:
        for which, path in pages.items():
            samples = []
            for i in range(runs):
                started = time.perf_counter()
                report = lighthouse.run(f"{url}/{path}", ["performance", "accessibility"])
                samples.append(lighthouse.metrics(report))
                print(
                    f"    /{path} 第 {i + 1}/{runs} 次：{samples[-1]}"
                    f"（{time.perf_counter() - started:.0f} s）",
                    file=sys.stderr,
                    flush=True,
                )
            median = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
            rows.append({"which": which, "page": f"/{path}", "median": median, "runs": samples})
    return rows


def table(rows: list[dict], compress: bool, runs: int) -> str:
    lines = [
        f"Lighthouse {lighthouse.version()}，移动端默认设置（慢速 4G、CPU 降速 4 倍，模拟），"
        f"quick 档构建，127.0.0.1 {'gzip' if compress else '不压缩'}，每页 {runs} 次取中位数",
        "",
        "| 页面 | 性能 | 无障碍 | LCP | 总阻塞时间 | FCP | 传输 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m = row["median"]
        lines.append(
            f"| {row['which']} {row['page']} | {m['performance']:.0f} | {m['accessibility']:.0f}"
            f" | {m['lcp_ms'] / 1000:.1f} s | {m['tbt_ms']:,.0f} ms | {m['fcp_ms'] / 1000:.1f} s"
            f" | {m['transfer_bytes'] / 1024:,.0f} KiB |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="serve without gzip")
    args = parser.parse_args()
    compress = not args.plain
    try:
        with tempfile.TemporaryDirectory(prefix="lighthouse-site-") as tmp:
            site = args.site.resolve() if args.site else Path(tmp) / "site"
            if args.site is None:
                build(site)
            rows = measure(site, args.runs, compress)
            text = table(rows, compress, args.runs)
    except PerflabError as exc:
        sys.exit(f"lighthouse: {exc}")
    OUTPUT.mkdir(exist_ok=True)
    doc = {"lighthouse": lighthouse.version(), "gzip": compress, "runs": args.runs, "pages": rows}
    (OUTPUT / "lighthouse.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (OUTPUT / "lighthouse.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
