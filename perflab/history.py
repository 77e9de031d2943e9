"""How each headline figure moved across publishing runs, and what changed when one moved.

Where the runs come from: after each successful deploy the publishing workflow
(.github/workflows/pages.yml, job `history`) keeps the run's merged results file (`python -m
perflab merge`; format in shards.py) on the branch perflab-history, one file per run named
<UTC time>-<commit>.json, the last few dozen runs. The next run's build job checks that branch
out read-only and names the folder in PERFLAB_HISTORY; this build is the newest run.

A headline figure is the measured value of one claim at one point: what the claims table on the
home page shows under 我们的实测 (claims.Judgement.points, document.claim_entry), one figure for
a claim judged at fixed conditions and one per point of a swept claim. Old runs are read with
today's registry (claims, ratios), so a figure is the same quantity in every run; a figure an
old run cannot give (its experiment, metric or a ratio's term was not there yet) is missing
from that run, never guessed.

A move beyond noise: two consecutive runs of one machine (by label) that both have the figure,
whose 95% intervals do not overlap: the rule of the data page's comparison with the reference
snapshot, applied through reference.compare. For such a move the two runs' recorded environments
of the claim's experiment are compared (ENVIRONMENT_FIELDS, then every library, tool such as
java, and other interpreter by name); no change means nothing recorded changed (the code may
have, between the two commits, or the noise was larger than the intervals said).

A malformed file in the folder is skipped with one warning line naming it (the page lists it
too) rather than refused: the history is a side view of the published figures, and one bad or
older-schema file on the branch must not stop this run's figures from being published. A
folder that does not exist is refused: PERFLAB_HISTORY then names a wrong path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from perflab import claims as claims_mod
from perflab import document, env, measure, paths, reference, shards
from perflab.claims import Claim
from perflab.errors import PerflabError
from perflab.registry import Experiment
from perflab.results import Result, run_label

if TYPE_CHECKING:
    from perflab.book import Book

BRANCH = "perflab-history"
CURRENT = "本次构建"

# 逐项比较的环境字段（环境字典里的键 → 页面上的名字）
ENVIRONMENT_FIELDS = (
    ("cpu_model", "CPU 型号"),
    ("cpu_count", "CPU 数"),
    ("arch", "架构"),
    ("os", "操作系统"),
    ("kernel", "内核"),
    ("python", "Python"),
    ("go", "Go"),
)
# 按名字逐个比较版本的表：Python 库、外部工具（java、wrk、nginx……）、其他解释器
ENVIRONMENT_GROUPS = ("libraries", "tools", "interpreters")
# 一个数字在一次运行里只留这些字段（不留每个进程的原始值：几十次运行都要放进内存）
ENTRY_FIELDS = ("key", "run_label", "label", "unit", "median", "ci_low", "ci_high", "n")

FigureKey = tuple[str, str]  # (claim id, metric key)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Figure:
    """One headline figure in one run on one machine."""

    claim: Claim
    at: float | None  # the sweep point's condition value; None for a claim at fixed conditions
    experiment: str
    profile: str
    entry: dict  # ENTRY_FIELDS of document.metric_entry: median, ci_low, ci_high, unit, ...
    environment: dict  # the experiment's recorded environment on that machine

    @property
    def key(self) -> FigureKey:
        return (self.claim.id, self.entry["key"])


@dataclass(frozen=True)
class Run:
    """One publishing run (or this build): its figures on each machine, the primary first."""

    name: str  # the file's name, or CURRENT
    date: dt.datetime
    commit: str
    profile: str
    machines: dict[str, dict[FigureKey, Figure]]
    current: bool = False


@dataclass(frozen=True)
class Change:
    what: str
    before: str
    after: str


@dataclass(frozen=True)
class Move:
    """A figure whose 95% intervals in two consecutive runs of one machine do not overlap."""

    machine: str
    before_run: Run
    after_run: Run
    before: Figure
    after: Figure
    changes: tuple[Change, ...]

    @property
    def ratio(self) -> float | None:
        """The later median over the earlier one."""
        old = self.before.entry["median"]
        return None if old == 0 else self.after.entry["median"] / old


@dataclass(frozen=True)
class Timeline:
    """The runs oldest first, the machines (the newest run's primary first), every figure's
    value per machine and run, and every move beyond noise per machine, oldest first."""

    runs: list[Run]
    labels: list[str]
    order: list[FigureKey]  # the claims' order in the registry, each sweep's points in order
    moves: dict[str, list[Move]] = field(default_factory=dict)

    def runs_of(self, label: str) -> list[Run]:
        return [r for r in self.runs if label in r.machines]

    def values(self, label: str, key: FigureKey) -> list[Figure | None]:
        """The figure in each run of the machine (None where that run could not give it)."""
        return [r.machines[label].get(key) for r in self.runs_of(label)]

    def last_move(self, label: str, key: FigureKey) -> Move | None:
        found = [m for m in self.moves.get(label, []) if m.before.key == key]
        return found[-1] if found else None


def _date(raw: object, where: str) -> dt.datetime:
    try:
        date = dt.datetime.fromisoformat(str(raw))
    except ValueError:
        raise PerflabError(
            f"{where}: its first machine's environment has no readable date (got {raw!r})"
        ) from None
    return date if date.tzinfo else date.replace(tzinfo=dt.UTC)


def _with_ratios(result: Result, exp: Experiment | None) -> Result:
    """The result with each ratio of today's registry it can give: a ratio over a metric the
    run did not have is left out, the others are still derived."""
    for ratio in exp.ratios if exp else ():
        try:
            measure.add_ratios(result, dataclasses.replace(exp, ratios=[ratio]))
        except PerflabError:
            continue
    return result


def figures(
    results: dict[str, Result],
    claims: list[Claim],
    experiments: dict[str, Experiment],
    *,
    finished: bool = False,
) -> dict[FigureKey, Figure]:
    """Every headline figure one machine's results give, in the claims' order.

    finished: the results already carry their ratios (this build's); otherwise they are derived
    from today's registry. A claim the results cannot judge gives no figure.
    """
    found: dict[FigureKey, Figure] = {}
    prepared: dict[str, Result] = {}
    for claim in claims:
        result = results.get(claim.experiment)
        if result is None:
            continue
        if claim.experiment not in prepared:
            prepared[claim.experiment] = (
                result if finished else _with_ratios(result, experiments.get(claim.experiment))
            )
        try:
            judgement = claims_mod.judge(claim, prepared[claim.experiment])
        except (PerflabError, ValueError):
            continue  # 这次运行给不出这个数字：指标当时还没有、改了名，或没有样本
        for point in judgement.points:
            full = document.metric_entry(point.metric)
            entry = {k: full[k] for k in ENTRY_FIELDS}
            fig = Figure(
                claim, point.at, claim.experiment, result.profile, entry, result.environment
            )
            found[fig.key] = fig
    return found


def read_run(path: Path, claims: list[Claim], experiments: dict[str, Experiment]) -> Run:
    """One kept run from its merged results file; PerflabError (one line naming the file)
    when the file is malformed."""
    name = paths.relative(path)
    profile, machines = shards.load_merged(path)
    first = machines[0].environment
    if not isinstance(first, dict):
        raise PerflabError(f"{name}: its first machine's environment is not an object")
    commit = first.get("git_commit")
    if not isinstance(commit, str) or not commit:
        raise PerflabError(f"{name}: its first machine's environment has no git_commit")
    return Run(
        path.name,
        _date(first.get("date"), name),
        commit,
        profile,
        {m.label: figures(m.results, claims, experiments) for m in machines},
    )


def require_folder(folder: Path | None) -> None:
    """PerflabError (one line) when PERFLAB_HISTORY names a folder that does not exist; the
    build checks this before measuring, so the reader does not get a page's traceback."""
    if folder is not None and not folder.is_dir():
        raise PerflabError(
            f"PERFLAB_HISTORY={folder}: no such folder (give a checkout of the {BRANCH} branch, "
            "or leave PERFLAB_HISTORY unset)"
        )


def load(
    folder: Path,
    claims: list[Claim],
    experiments: dict[str, Experiment],
    warn: Callable[[str], None] = _stderr,
) -> tuple[list[Run], list[str]]:
    """Every run kept in the folder (its *.json files), oldest first, and one line for each
    file skipped as malformed (also passed to `warn`). A missing folder is a PerflabError."""
    require_folder(folder)
    runs, skipped = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            runs.append(read_run(path, claims, experiments))
        except PerflabError as exc:
            skipped.append(str(exc))
            warn(f"[perflab] history: skipped {exc}")
    runs.sort(key=lambda r: (r.date, r.name))
    return runs, skipped


def current_run(session: Book) -> Run:
    """This build as the newest run: its machines when it reads a merged file, else this
    machine under its default label (shards.default_machine_label), without the results the
    reference snapshot stands in for under `make serve`."""
    if session.machines:
        by_machine: dict[str, dict[str, Result]] = {m.label: {} for m in session.machines}
        for exp_id in session.experiments:
            for label, result in session.on_machines(exp_id):
                by_machine[label][exp_id] = result
        first = session.machines[0].environment
        date, commit = first.get("date"), str(first.get("git_commit", ""))
    else:
        # make serve 里参考快照顶替的结果不是这台机器测的：不算本次构建的数字
        results = {exp_id: session.result(exp_id) for exp_id in session.experiments}
        by_machine = {
            shards.default_machine_label(): {
                exp_id: r for exp_id, r in results.items() if not r.from_reference
            }
        }
        date, commit = dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), env.git_commit()
    machines = {
        label: figures(results, session.claims, session.experiments, finished=True)
        for label, results in by_machine.items()
    }
    return Run(CURRENT, _date(date, CURRENT), commit, session.profile, machines, current=True)


def with_current(runs: list[Run], current: Run) -> list[Run]:
    """The kept runs and this build, oldest first; a kept copy of this very run (same commit
    and time, e.g. a re-run of the publishing build) gives way to it."""
    kept = [r for r in runs if (r.commit, r.date) != (current.commit, current.date)]
    return sorted([*kept, current], key=lambda r: (r.date, r.current, r.name))


def _doc(fig: Figure) -> dict:
    """One figure as a results document with one metric (what reference.compare reads)."""
    return {"experiments": [{"id": fig.experiment, "profile": fig.profile, "metrics": [fig.entry]}]}


def status(before: Figure, after: Figure) -> str:
    """reference.compare's verdict on one figure in two runs: reference.CHANGED when the two
    95% intervals do not overlap, WITHIN_NOISE when they do (or OTHER_PROFILE, OTHER_UNIT)."""
    (row,) = reference.compare(_doc(before), _doc(after))
    return row.status


def _shown(value: object) -> str:
    return "—" if value in (None, "") else str(value)


def _versions(group: str, raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    if group != "interpreters":
        return {str(name): _shown(v) for name, v in raw.items()}
    found = {}
    for name, v in raw.items():
        info = v if isinstance(v, dict) else {}
        found[run_label(str(name))] = _shown(info.get("version")) if info.get("found") else "未找到"
    return found


def environment_changes(before: dict, after: dict) -> list[Change]:
    """What differs between two recorded environments: the ENVIRONMENT_FIELDS, then every
    library, tool and other interpreter by name (one missing on a side shows as —)."""
    changes = [
        Change(label, _shown(before.get(key)), _shown(after.get(key)))
        for key, label in ENVIRONMENT_FIELDS
        if before.get(key) != after.get(key)
    ]
    for group in ENVIRONMENT_GROUPS:
        old, new = _versions(group, before.get(group)), _versions(group, after.get(group))
        for name in sorted(old.keys() | new.keys()):
            if old.get(name) != new.get(name):
                changes.append(Change(name, old.get(name, "—"), new.get(name, "—")))
    return changes


def _labels(runs: list[Run]) -> list[str]:
    """Every machine label, the newest run's first (in its order), then older ones."""
    found: list[str] = []
    for run in reversed(runs):
        found += [label for label in run.machines if label not in found]
    return found


def _order(runs: Iterable[Run], claims: list[Claim]) -> list[FigureKey]:
    rank = {c.id: i for i, c in enumerate(claims)}
    seen: dict[FigureKey, None] = {}
    for run in runs:
        for figs in run.machines.values():
            seen.update(dict.fromkeys(figs))
    return sorted(seen, key=lambda k: rank.get(k[0], len(rank)))


def timeline(runs: list[Run], claims: list[Claim]) -> Timeline:
    """The runs (oldest first) with every move beyond noise between consecutive runs of each
    machine that both have the figure, and what changed in its experiment's environment."""
    line = Timeline(runs, _labels(runs), _order(runs, claims))
    for label in line.labels:
        moves, last = [], {}
        for run in line.runs_of(label):
            for key, fig in run.machines[label].items():
                if key in last and status(last[key][1], fig) == reference.CHANGED:
                    before_run, before = last[key]
                    changes = environment_changes(before.environment, fig.environment)
                    moves.append(Move(label, before_run, run, before, fig, tuple(changes)))
                last[key] = (run, fig)
        line.moves[label] = moves
    return line
