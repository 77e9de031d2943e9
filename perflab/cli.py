"""Command line: `python -m perflab list | check [ID...] | run ID... | merge FILE... | refresh |
reference`.

`check` validates registry entries against the engine without measuring (one line per problem,
naming the registry file). `run` measures one experiment the way the site does (same profile,
cache and rendering), prints the page's table, provenance and claim verdicts, warns when the
measurement exceeded its profile's time budget, and writes its JSON, so a reader can reproduce
a page from a terminal. `run --shard I/N --machine LABEL` measures one deterministic share of
the book and writes a shard file; `merge` joins shard files (one commit, one or more machines)
into the file a build reads with PERFLAB_RESULTS. `run --stale` measures every experiment that
has no valid cached result (what `make serve` leaves to a background process: perflab.serve).
`reference` writes the committed snapshot the data page compares with.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

from perflab import (
    book,
    check,
    contention,
    document,
    export,
    paths,
    reference,
    registry,
    render,
    runner,
    serve,
    settings,
    shards,
    verdict_text,
)
from perflab.errors import PerflabError


def _plain(html_line: str) -> str:
    """The page's provenance line without its HTML wrapper, for a terminal."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_line))


def _list(session: book.Book) -> None:
    rows = [
        (exp.id, "+".join(run.name for run in exp.runs), f"docs/{exp.page}", exp.title)
        for exp in session.experiments.values()
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    for exp_id, langs, page, title in rows:
        print(f"{exp_id:<{widths[0]}}  {langs:<{widths[1]}}  {page:<{widths[2]}}  {title}")


def _run(session: book.Book, ids: list[str], out_dir: Path) -> None:
    for exp_id in ids:
        registry.get(session.experiments, exp_id)  # 任何一个 id 未知，都在测量之前报错
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, exp_id in enumerate(ids, 1):
        prefix = f"[{i}/{len(ids)}] {exp_id}"
        result = session.result(
            exp_id,
            progress=lambda msg, p=prefix: print(f"{p}：{msg}", file=sys.stderr, flush=True),
        )
        how = "缓存有效，未重测" if result.from_cache else f"测量完成（{result.duration_s:.1f} s）"
        print(f"{prefix}：{how}", file=sys.stderr, flush=True)
        print(f"\n## {result.title}（{exp_id}）\n")
        print(render.table(result))
        print()
        print(_plain(render.provenance(result)))
        for claim in session.claims_for(experiment=exp_id):
            print()
            print(verdict_text.plain(session.judge(claim)))
        busy = None if result.from_cache else contention.busy_note(result.environment)
        if busy:
            print(f"{prefix}：{busy}", file=sys.stderr)
        budget = settings.TIME_BUDGET_S[session.profile]
        if not result.from_cache and result.duration_s > budget:
            print(
                f"{prefix}：注意，测量用了 {result.duration_s:.0f} s，超出 {session.profile} 档"
                f"每个实验 {budget:.0f} s 的预算（见 CONTRIBUTING.md）",
                file=sys.stderr,
            )
        target = out_dir / f"{exp_id}.json"
        target.write_text(
            json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        print(f"\n结果已写入 {target}", file=sys.stderr)


def _run_stale(args: argparse.Namespace) -> int:
    if not args.stale:
        raise PerflabError("run: --progress-file and --follow go with --stale")
    if args.ids or args.shard or args.refresh:
        raise PerflabError(
            "run --stale measures what has no valid cache: give no ids, --shard or --refresh"
        )

    def open_book() -> book.Book:
        return book.Book(args.profile, refresh=False, stand_in=False)

    try:
        state = serve.measure_stale(open_book, progress_file=args.progress_file, stamp=args.follow)
    finally:
        if args.follow:
            # 进度与戳只为这一个服务器而设：后台进程一结束就删掉（服务器被 SIGKILL 时没人收拾）
            serve.remove_files(args.progress_file, args.follow)
    return 1 if state["failed"] else 0


def _check(profile: str | None, ids: list[str]) -> int:
    session = book.Book(profile, refresh=False)  # 加载注册表本身就会报出格式错误
    problems, notes = check.check(session.experiments, session.claims, ids, session.profile)
    if len(notes) <= 3:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    else:
        print(
            f"note: {len(notes)} 个实验还没有这份代码的有效缓存，指标名在测量时检查"
            "（python -m perflab run ID）",
            file=sys.stderr,
        )
    for problem in problems:
        print(problem)
    checked = len(ids) if ids else len(session.experiments)
    print(
        f"perflab check：{checked} 个实验，{len(problems)} 个问题",
        file=sys.stderr,
    )
    return 1 if problems else 0


def _run_shard(session: book.Book, shard: str, machine: str | None, out: Path) -> None:
    index, count = shards.parse_shard(shard)
    ids = shards.assign(list(session.experiments), count, shards.recorded_durations())[index - 1]
    label = machine or shards.default_machine_label()
    print(
        f"[perflab] 分片 {index}/{count}（{label}，{session.profile} 档）："
        f"{', '.join(ids) or '无'}",
        file=sys.stderr,
    )
    results = []
    for i, exp_id in enumerate(ids, 1):
        prefix = f"[{i}/{len(ids)}] {exp_id}"
        results.append(
            session.result(
                exp_id,
                progress=lambda msg, p=prefix: print(f"{p}：{msg}", file=sys.stderr, flush=True),
            )
        )
    for claim in session.claims:
        if claim.experiment in ids:
            session.judge(claim)  # 说法读不到的指标在这里就报错，而不是合并之后
    doc = shards.shard_document(
        results, index=index, count=count, machine=label, profile=session.profile
    )
    shards.write(doc, out)
    print(f"分片结果已写入 {out}", file=sys.stderr)


def _merge(files: list[Path], out: Path) -> None:
    expected = list(registry.load())
    doc = shards.merge(files, expected)
    shards.write(doc, out)
    labels = "、".join(m["label"] for m in doc["machines"])
    print(
        f"已合并 {len(files)} 个分片（{labels}；提交 {doc['git_commit']}）到 {out}；"
        f"构建时设 PERFLAB_RESULTS={out}",
        file=sys.stderr,
    )


def _compare(mine: Path, other: Path | None) -> None:
    """Print how a results.json (say, from this machine's `make build`) differs from another
    (the published site's data/results.json, or by default the reference snapshot)."""
    other = other or reference.reference_path()
    current = reference.load(mine)
    if current is None:
        raise PerflabError(f"compare: {mine} does not exist")
    print(reference.render(reference.load(other), current, paths.relative(other)))


def _splice_reference(session: book.Book, out: Path, only: list[str]) -> None:
    """Measure only `only` and put them, with the verdicts on their claims, into the existing
    snapshot in place of their old entries (each entry keeps its own environment and commit);
    the rest of the snapshot is left as it was. For an experiment whose snapshot entry no longer
    fits the registry, without re-measuring the whole book."""
    doc = reference.load(out)
    if doc is None:
        raise PerflabError(f"reference: {paths.relative(out)} does not exist; run it without ids")
    for exp_id in only:
        registry.get(session.experiments, exp_id)  # 拼错的 id 在测量前报错
    fresh = {exp_id: document.experiment_entry(session.result(exp_id)) for exp_id in only}
    judged = {
        c.id: document.claim_entry(session.judge(c))
        for c in session.claims
        if c.experiment in fresh
    }
    doc["experiments"] = _replaced(doc["experiments"], fresh)
    doc["claims"] = _replaced(doc["claims"], judged)
    reference.write(doc, out)
    print(
        f"参考快照 {paths.relative(out)}：替换了 {', '.join(only)} 及其说法，其余条目保持原样",
        file=sys.stderr,
    )


def _replaced(entries: list[dict], fresh: dict[str, dict]) -> list[dict]:
    """Entries with those in `fresh` (by id) replaced in place; new ones appended."""
    known = {e["id"] for e in entries}
    return [fresh.get(e["id"], e) for e in entries] + [
        entry for entry_id, entry in fresh.items() if entry_id not in known
    ]


def _reference(profile: str, out: Path, only: list[str]) -> None:
    session = book.start(profile, stand_in=False)
    if only:
        _splice_reference(session, out, only)
        return
    print(
        f"[perflab] 参考快照：{profile} 档，共 {len(session.experiments)} 个实验", file=sys.stderr
    )
    session.measure_all()
    doc = session.document()
    reference.write(doc, out)
    env = doc["build_environment"]
    print(
        f"参考快照已写入 {paths.relative(out)}（{profile} 档，{len(doc['experiments'])} 个实验，"
        f"提交 {env['git_commit']}，{env['cpu_model']}）",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perflab", description="本书的测量引擎")
    parser.add_argument(
        "--profile", choices=registry.PROFILES, help="默认取 PERFLAB_PROFILE，否则 full"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="列出全部实验及其页面")
    chk = sub.add_parser(
        "check", help="不测量，检查实验的注册表条目（页面、图表与说法的指标、单位、规则）"
    )
    chk.add_argument("ids", nargs="*", metavar="ID", help="默认检查全部实验")
    run = sub.add_parser("run", help="测量一个或几个实验（有效缓存直接复用）")
    run.add_argument("ids", nargs="*", metavar="ID")
    run.add_argument("--refresh", action="store_true", help="忽略缓存，重新测量")
    run.add_argument("--out", type=Path, default=None, help="JSON 输出目录（--shard 时为分片文件）")
    run.add_argument("--shard", metavar="I/N", help="只测第 I 个分片（共 N 个，按记录的耗时均分）")
    run.add_argument("--machine", help="分片文件里这台机器的名字（默认：架构 · CPU 数）")
    run.add_argument(
        "--stale", action="store_true", help="逐个测量所有没有有效缓存的实验（make serve 的后台）"
    )
    run.add_argument(
        "--progress-file", type=Path, help="与 --stale 同用：每测完一个实验就改写这个进度文件"
    )
    run.add_argument(
        "--follow",
        type=Path,
        metavar="STAMP",
        help="与 --stale 同用：每次写进度后等 STAMP 变化（站点重建完）再测下一个；"
        "测完后继续等，重建后有新变旧的实验接着测，直到 STAMP 所在目录消失",
    )
    cmp = sub.add_parser("compare", help="把一份 results.json 与另一份（默认参考快照）逐个指标对比")
    cmp.add_argument("mine", type=Path, metavar="FILE", help="例如 site/data/results.json")
    cmp.add_argument(
        "--with",
        dest="other",
        type=Path,
        default=None,
        help="对比的另一份，例如从已发布网站下载的 data/results.json",
    )
    merge = sub.add_parser("merge", help="把各机器的分片文件合并成一个结果文件")
    merge.add_argument("files", nargs="+", type=Path, metavar="FILE")
    merge.add_argument("--out", type=Path, default=Path("perflab-results/merged.json"))
    refresh = sub.add_parser("refresh", help="重新测量全部实验并导出 results.json / results.csv")
    refresh.add_argument("--out", type=Path, default=Path("perflab-results"))
    ref = sub.add_parser(
        "reference",
        help="测量全部实验（默认 full 档，有效缓存直接复用），写入参考快照 reference/results.json",
    )
    ref.add_argument(
        "--out", type=Path, default=None, help="默认 reference/results.json（或 PERFLAB_REFERENCE）"
    )
    ref.add_argument(
        "ids",
        nargs="*",
        metavar="ID",
        help="只重测这些实验并替换快照里它们的条目（其余保持原样）；不给则测量全部",
    )
    args = parser.parse_args(argv)
    runner.stop_cleanly_on_sigterm()
    try:
        if args.command == "list":
            _list(book.start(args.profile))
        elif args.command == "check":
            return _check(args.profile, args.ids)
        elif args.command == "run":
            # 命令行总在本机测量：PERFLAB_SERVE 只管 make serve 的站点
            session = book.start(args.profile, refresh=args.refresh, stand_in=False)
            if args.stale or args.progress_file or args.follow:
                return _run_stale(args)
            if args.shard:
                if args.ids:
                    raise PerflabError("run: give experiment ids or --shard, not both")
                index, count = shards.parse_shard(args.shard)
                default = Path("perflab-results") / f"shard-{index}-of-{count}.json"
                _run_shard(session, args.shard, args.machine, args.out or default)
            elif not args.ids:
                raise PerflabError("run: give one or more experiment ids (or --shard I/N)")
            else:
                _run(session, args.ids, args.out or Path("perflab-results"))
        elif args.command == "compare":
            _compare(args.mine, args.other)
        elif args.command == "merge":
            _merge(args.files, args.out)
        elif args.command == "reference":
            # 参考快照固定用 full 档（不看 PERFLAB_PROFILE）；--profile 仅供测试改用 quick
            _reference(args.profile or "full", args.out or reference.reference_path(), args.ids)
        else:
            session = book.start(args.profile, refresh=True)
            session.measure_all()
            export.write(session.document(), args.out)
            print(f"全部结果已写入 {args.out}/results.json 与 results.csv", file=sys.stderr)
    except PerflabError as exc:
        print(f"perflab: {exc}", file=sys.stderr)
        return 2
    return 0
