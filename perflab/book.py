"""The book's measuring session: what pages call from their exec blocks.

The MkDocs hook measures every registered experiment before pages render (with progress on
stderr); a page then only reads results. Run standalone (a reader pasting a page's code into
Python), the same calls measure lazily, using the cache. Under `make serve` (PERFLAB_SERVE)
the reference snapshot stands in for what has no valid cached result (perflab.serve).
"""

from __future__ import annotations

import sys
import time

from perflab import (
    cache,
    check,
    contention,
    document,
    env,
    measure,
    reference,
    registry,
    render,
    serve,
    settings,
    shards,
    slots,
    units,
)
from perflab import claims as claims_mod
from perflab.claims import Claim, Judgement
from perflab.errors import PerflabError
from perflab.results import Result


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Book:
    def __init__(
        self, profile: str | None = None, refresh: bool | None = None, stand_in: bool | None = None
    ) -> None:
        self.profile = profile or settings.profile()
        self.refresh = settings.refresh() if refresh is None else refresh
        self.experiments = registry.load()
        self.claims = claims_mod.load()
        claims_mod.check_references(self.claims, set(self.experiments))
        self.results: dict[str, Result] = {}
        # PERFLAB_RESULTS：从合并好的多台机器的结果构建，不在本机测量（第一台是主机器）
        self.merged_from = settings.results_file()
        self.machines: list[shards.Machine] = []
        if self.merged_from is not None:
            self.profile, self.machines = shards.load_merged(self.merged_from, env.git_commit())
            self.refresh = False
        self._by_machine: dict[str, list[tuple[str, Result]]] = {}
        # 本次构建里各实验的缓存键（measure_all 先算好一次）
        self.keys: dict[str, str] = {}
        # make serve：没有有效缓存的实验先用参考快照的结果，由后台进程补测（perflab.serve）；
        # 默认看 PERFLAB_SERVE（MkDocs 进程与它的笔记本内核），命令行一律 False
        wanted = settings.serve_from_reference() if stand_in is None else stand_in
        self.stand_in = wanted and not self.machines and not self.refresh
        self._snapshot: dict | None = None
        # 自上次清空以来读到的参考快照结果（钩子每渲染一页清空一次，据此给该页加说明）
        self.snapshot_reads: set[str] = set()
        self._document: dict | None = None
        # 正在渲染的页面（由 MkDocs 钩子设置）：exec 输出里的链接要相对它来写
        self.page = "index.md"

    def result(self, exp_id: str, progress=None) -> Result:
        if exp_id not in self.results:
            exp = registry.get(self.experiments, exp_id)
            progress = progress or (lambda _: None)
            if self.machines:
                result = self.on_machines(exp_id)[0][1]
            elif self.stand_in:
                result = self._cached_or_snapshot(exp, progress)
            else:
                result = measure.obtain(
                    exp,
                    self.profile,
                    refresh=self.refresh,
                    progress=progress,
                    key=self.keys.get(exp_id),
                )
            check.require_valid(exp, self.claims_for(experiment=exp_id), result)
            self.results[exp_id] = result
        if self.results[exp_id].from_reference:
            self.snapshot_reads.add(exp_id)
        return self.results[exp_id]

    def snapshot(self) -> dict | None:
        """The reference snapshot (read once per session), None when there is none."""
        if self._snapshot is None:
            self._snapshot = reference.load() or {}
        return self._snapshot or None

    def _cached_or_snapshot(self, exp, progress) -> Result:
        """Serve mode: the valid cached result, else the snapshot's, else measure it now."""
        claims = self.claims_for(experiment=exp.id)
        key = self.keys.get(exp.id) or cache.cache_key(exp, self.profile)
        cached, why = cache.load(exp, self.profile, key)
        if cached is not None:
            try:
                result = measure.finish(cached, exp)
                check.require_valid(exp, claims, result)
                return result
            except PerflabError as exc:
                why = (str(exc).splitlines() or [type(exc).__name__])[0]
        result, why_not = serve.stand_in(exp, self.profile, claims, self.snapshot())
        if result is not None:
            progress(f"本机没有有效结果（{why}）：先用参考快照的数字，后台测量后自动替换")
            return result
        progress(f"{why_not}，现在测量")
        return measure.obtain(exp, self.profile, progress=progress, key=key)

    def on_machines(self, exp_id: str) -> list[tuple[str, Result]]:
        """(machine label, result) for every machine of a merged build; PerflabError naming
        the file and the machine when one lacks the experiment. Empty when measuring here."""
        if exp_id not in self._by_machine and self.machines:
            exp = registry.get(self.experiments, exp_id)
            found = []
            for m in self.machines:
                if exp_id not in m.results:
                    raise PerflabError(
                        f"{self.merged_from}: machine {m.label!r} has no result for {exp_id}"
                    )
                found.append((m.label, measure.finish(m.results[exp_id], exp)))
            self._by_machine[exp_id] = found
        return self._by_machine.get(exp_id, [])

    def judgements_by_machine(
        self, claims: list[Claim]
    ) -> dict[str, list[tuple[str, Judgement]]] | None:
        """claim id → [(machine label, verdict on that machine's figures)] in a build merged
        from several machines; None otherwise."""
        if len(self.machines) < 2:
            return None
        return {
            c.id: [(label, claims_mod.judge(c, r)) for label, r in self.on_machines(c.experiment)]
            for c in claims
        }

    def measure_all(self, report=_stderr) -> None:
        """Measure (or load) every experiment, saying which one and how many are left."""
        total = len(self.experiments)
        if self.machines:
            labels = "、".join(m.label for m in self.machines)
            report(f"[perflab] 读取合并的结果 {self.merged_from}（{labels}），本机不测量")
        elif self.stand_in:
            report(
                "[perflab] make serve：没有有效缓存的实验先用参考快照的数字"
                "（页面上标注“参考快照”），站点启动后由后台进程逐个测量、自动替换"
            )
        elif not self.refresh:
            # 每个实验的缓存键只算一次：这里判断哪些要测，下面取结果时沿用
            self.keys = {e.id: cache.cache_key(e, self.profile) for e in self.experiments.values()}
            stale = [
                e
                for e in self.experiments.values()
                if cache.load(e, self.profile, self.keys[e.id])[0] is None
            ]
            if stale:
                report(
                    f"[perflab] {len(stale)}/{total} 个实验没有这份代码的有效缓存，要先测量"
                    f"（{self.profile} 档；第一次构建整本书约需几分钟，之后只重测改过的实验）"
                )
        for i, exp_id in enumerate(self.experiments, 1):
            prefix = f"[perflab {i}/{total}] {exp_id}"
            started = time.perf_counter()
            result = self.result(exp_id, progress=lambda msg, p=prefix: report(f"{p}：{msg}"))
            how = "缓存有效，未重测" if result.from_cache else "测量完成"
            if result.from_reference:
                how = "取自参考快照，留给后台测量"
            report(f"{prefix}：{how}（{time.perf_counter() - started:.1f} s）")
            fresh = not (result.from_cache or result.from_reference)
            busy = contention.busy_note(result.environment) if fresh else None
            if busy:
                report(f"{prefix}：{busy}")
        self.check_claims()

    def check_claims(self) -> None:
        """A claim whose metric was not produced, or whose verdict would read an interval
        with less than 95% coverage in the full profile, fails the build."""
        for claim in self.claims:
            claims_mod.check_coverage(self.judge(claim), self.profile)

    def judge(self, claim: Claim) -> Judgement:
        """The verdict on one claim (a missing metric is a PerflabError naming it)."""
        result = self.result(claim.experiment)
        missing = [key for key in claim.reads if key not in result.metrics]
        if missing:
            raise PerflabError(
                f"claim {claim.id}: experiment {claim.experiment} produced no metric "
                f"{', '.join(map(repr, missing))} (it has: {', '.join(result.metrics)})"
            )
        return claims_mod.judge(claim, result)

    def chart_block(self, exp_id: str) -> str:
        """The experiment's charts as HTML, or, while a site is built, a placeholder for them
        (perflab.slots): the SVG joins the page after it is rendered, so neither Markdown nor the
        search indexer parses thousands of SVG elements; charts carry no words worth searching."""
        return slots.hold(render.chart_html(self.result(exp_id), self.experiments[exp_id].charts))

    def document(self) -> dict:
        """The results document of this build (built once: the exported files and the data
        page's comparison read the same one). Only what this machine measured: results the
        snapshot stands in for, and the verdicts read from them, are left out."""
        if self._document is None:
            results = [self.result(exp_id) for exp_id in self.experiments]
            results = [r for r in results if not r.from_reference]
            judgements = [
                self.judge(c) for c in self.claims if not self.result(c.experiment).from_reference
            ]
            self._document = document.build(self.profile, results, judgements)
            if self.machines:
                self._document["machines"] = [
                    {"label": m.label, "environment": m.environment} for m in self.machines
                ]
                by_machine = self.judgements_by_machine(self.claims) or {}
                for entry in self._document["claims"]:
                    entry["verdicts_by_machine"] = {
                        label: j.verdict for label, j in by_machine.get(entry["id"], [])
                    }
        return self._document

    def claims_for(self, *, experiment: str | None = None, page: str | None = None) -> list[Claim]:
        return [
            c
            for c in self.claims
            if (experiment is None or c.experiment == experiment)
            and (page is None or c.page == page)
        ]


_current: Book | None = None


def start(
    profile: str | None = None, refresh: bool | None = None, stand_in: bool | None = None
) -> Book:
    """A fresh session (one per site build)."""
    global _current
    _current = Book(profile, refresh, stand_in)
    return _current


def current() -> Book:
    return _current or start()


# The page API: each returns Markdown (with inline HTML) to print from an exec block.


def result(exp_id: str) -> Result:
    return current().result(exp_id)


def table(exp_id: str, keys: list[str] | None = None) -> str:
    return render.table(result(exp_id), keys)


def figure(exp_id: str) -> str:
    """Table, charts and provenance of one experiment."""
    book = current()
    r = book.result(exp_id)
    parts = (render.table(r), book.chart_block(exp_id), render.provenance(r), machines(exp_id))
    return "\n\n".join(x for x in parts if x)


def machines(exp_id: str) -> str:
    """In a build merged from several machines: the experiment's metrics on each, side by side."""
    found = current().on_machines(exp_id)
    if len(found) < 2:
        return ""
    return f"**各机器上的同一组指标**（{len(found)} 台）\n\n" + render.machines_table(found)


def claims(exp_id: str) -> str:
    book = current()
    selected = book.claims_for(experiment=exp_id)
    if not selected:
        raise PerflabError(f"no claim in registry/*.toml measures experiment {exp_id!r}")
    rows = render.claim_rows(
        [(book.judge(c), book.result(c.experiment)) for c in selected],
        by_machine=book.judgements_by_machine(selected),
    )
    return rows + "\n\n" + render.claim_sources(selected)


def claims_summary() -> str:
    """Every claim in the book with its verdict and a link to its section."""
    book = current()
    pairs = [(book.judge(c), book.result(c.experiment)) for c in book.claims]
    rows = render.claim_rows(
        pairs, link_from=book.page, by_machine=book.judgements_by_machine(book.claims)
    )
    return rows + "\n\n" + render.claim_sources(book.claims)


def environment() -> str:
    """The environment of this build, as a two-column table."""
    book = current()
    libraries = sorted({lib for exp in book.experiments.values() for lib in exp.libraries})
    return render.environment_table(env.capture(book.profile, libraries))


def experiments_table() -> str:
    """Every registered experiment: page, implementations, inputs and repeats per profile."""
    return render.experiments_table(list(current().experiments.values()), current().page)


def value(exp_id: str, key: str) -> str:
    """One measured metric inline (median and interval), for a table written on a page."""
    return render.value(result(exp_id).metric(key))


def times(exp_id: str, key: str, digits: int = 1) -> str:
    """A ratio the engine derived, inline in a sentence: "N 倍（95% 区间 …）"."""
    return render.times(result(exp_id).metric(key), digits)


def _info(exp_id: str, run: str, field_name: str):
    try:
        return result(exp_id).info[run][field_name]
    except KeyError:
        raise PerflabError(
            f"experiment {exp_id}: run {run!r} reported no info {field_name!r}"
        ) from None


def info(exp_id: str, run: str, field_name: str, unit: str = "") -> str:
    """One figure an example reported in its info (not a repeated metric), formatted with unit."""
    return units.fmt(float(_info(exp_id, run, field_name)), unit)


def grid(exp_id: str, template: str, rows: dict[str, str], cols: dict[str, str]) -> str:
    """Medians of metrics as a matrix; see render.grid."""
    return render.grid(result(exp_id), template, rows, cols)


def info_table(exp_id: str, run: str, field_name: str, columns: list[tuple[str, ...]]) -> str:
    """A list the example reported in its info (e.g. top allocation sites), as a table."""
    return render.records(_info(exp_id, run, field_name), columns)


def charts(exp_id: str) -> str:
    """The experiment's charts and its provenance line, without the full table."""
    book = current()
    return book.chart_block(exp_id) + "\n\n" + render.provenance(book.result(exp_id))
