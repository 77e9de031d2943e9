"""Command line: `python -m perflab list | run ID... | refresh`.

`run` measures one experiment the way the site does (same profile, cache and rendering),
prints the page's table and writes its JSON, so a reader can reproduce a page from a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from perflab import book, export, registry, render
from perflab.errors import PerflabError


def _list(session: book.Book) -> None:
    width = max(len(i) for i in session.experiments)
    for exp in session.experiments.values():
        langs = "+".join(run.name for run in exp.runs)
        print(f"{exp.id:<{width}}  {langs:<10}  docs/{exp.page}  {exp.title}")


def _run(session: book.Book, ids: list[str], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, exp_id in enumerate(ids, 1):
        registry.get(session.experiments, exp_id)  # 未知 id 在测量前就报错
        prefix = f"[{i}/{len(ids)}] {exp_id}"
        result = session.result(
            exp_id, progress=lambda msg, p=prefix: print(f"{p}：{msg}", file=sys.stderr)
        )
        print(f"\n## {result.title}（{exp_id}）\n")
        print(render.table(result))
        print()
        print(render.provenance(result))
        target = out_dir / f"{exp_id}.json"
        target.write_text(
            json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        print(f"\n结果已写入 {target}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perflab", description="本书的测量引擎")
    parser.add_argument(
        "--profile", choices=registry.PROFILES, help="默认取 PERFLAB_PROFILE，否则 full"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="列出全部实验及其页面")
    run = sub.add_parser("run", help="测量一个或几个实验（有效缓存直接复用）")
    run.add_argument("ids", nargs="+", metavar="ID")
    run.add_argument("--refresh", action="store_true", help="忽略缓存，重新测量")
    run.add_argument("--out", type=Path, default=Path("perflab-results"), help="JSON 输出目录")
    refresh = sub.add_parser("refresh", help="重新测量全部实验并导出 results.json / results.csv")
    refresh.add_argument("--out", type=Path, default=Path("perflab-results"))
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            _list(book.start(args.profile))
        elif args.command == "run":
            _run(book.start(args.profile, refresh=args.refresh), args.ids, args.out)
        else:
            session = book.start(args.profile, refresh=True)
            session.measure_all()
            export.write(session, args.out)
            print(f"全部结果已写入 {args.out}/results.json 与 results.csv", file=sys.stderr)
    except PerflabError as exc:
        print(f"perflab: {exc}", file=sys.stderr)
        return 2
    return 0
