"""Checks of a registry entry against the engine: `python -m perflab check [ID...]`.

Two kinds, each problem one line that starts with the registry file:
- before measuring (`entry_problems`): the page exists and shows the experiment (its id
  appears in docs/PAGE.md or in the page's module pages/PAGE.py), every claim on it reads
  metrics its experiment could produce (the run names exist);
- against a result (`result_problems`): every chart, ratio and claim metric exists, every
  time series a chart draws exists, each claim's unit is the unit of the metric it reads.
The loaders (registry.load, claims.load) already reject bad rule kinds, missing fields and
malformed tables, naming the file; `check` reports those too.

The build runs `result_problems` on every result it obtains, so a typo fails with one line
instead of a traceback from the chart code. `check` reads the newest valid cached result of
either profile; with none it says the metric names are checked when `perflab run` measures.
"""

from __future__ import annotations

from pathlib import Path

from perflab import cache, registry, settings
from perflab.claims import Claim
from perflab.errors import PerflabError
from perflab.registry import Experiment
from perflab.results import Result


def _where(exp_or_claim) -> Path | None:
    return exp_or_claim.registry_file


def _line(registry_file: Path | None, key: str, problem: str) -> str:
    text = f"{key}: {problem}"
    return registry.in_file(registry_file, text) if registry_file else text


def docs_dir() -> Path:
    """The book's Markdown pages: docs/ beside the registry folder in use."""
    source = settings.registry_source()
    return (source if source.is_dir() else source.parent).parent / "docs"


def page_modules_dir() -> Path:
    """The pages' helper modules (pages/ch2/gc.py for docs/ch2/gc.md), beside docs/."""
    return docs_dir().parent / "pages"


def entry_problems(exp: Experiment, claims: list[Claim]) -> list[str]:
    """What is wrong with an experiment's registry entry, found without measuring."""
    where, found = _where(exp), []
    page = docs_dir() / exp.page
    if not page.is_file():
        found.append(
            _line(where, f"experiment {exp.id}", f"its page docs/{exp.page} does not exist")
        )
    else:
        module = page_modules_dir() / Path(exp.page).with_suffix(".py")
        texts = [page.read_text(encoding="utf-8")]
        if module.is_file():
            texts.append(module.read_text(encoding="utf-8"))
        if not any(f'"{exp.id}"' in t or f"'{exp.id}'" in t for t in texts):
            shown_in = f"docs/{exp.page}" + (
                f" or pages/{module.relative_to(page_modules_dir())}" if module.is_file() else ""
            )
            found.append(
                _line(
                    where,
                    f"experiment {exp.id}",
                    f"no code block in {shown_in} names it, so its page does not show it",
                )
            )
    runs = {run.name for run in exp.runs}

    def not_a_run_key(key: str) -> bool:
        return "." not in key or key.split(".", 1)[0] not in runs

    def bad_key(key: str) -> str:
        return f"metric {key!r} is not RUN.NAME with a run of {exp.id} ({', '.join(sorted(runs))})"

    # 指标名的后半截要测过才知道（见 result_problems）；前半截的运行名现在就能查
    for chart in exp.charts:
        for key in chart.metrics:
            if not_a_run_key(key):
                found.append(
                    _line(where, f"experiment {exp.id}, chart {chart.title!r}", bad_key(key))
                )
    for claim in claims:
        for key in claim.reads:
            if not_a_run_key(key):
                found.append(_line(_where(claim), f"claim {claim.id}", bad_key(key)))
    return found


def _missing(key: str, result: Result) -> bool:
    return key not in result.metrics and not result.skipped(key)


def result_problems(exp: Experiment, claims: list[Claim], result: Result) -> list[str]:
    """What the registry asks of a result that the result does not have."""
    where, found = _where(exp), []
    have = ", ".join(result.metrics) or "none"
    derived = {ratio.key: ratio.unit for ratio in exp.ratios}
    for chart in exp.charts:
        for key in chart.metrics:
            if key not in derived and _missing(key, result):
                found.append(
                    _line(
                        where,
                        f"experiment {exp.id} / chart {chart.title!r}",
                        f"no metric {key!r} (measured: {have})",
                    )
                )
        if chart.kind == "timeseries":
            for label, (key,) in chart.series:
                if key not in result.series:
                    found.append(
                        _line(
                            where,
                            f"experiment {exp.id} / chart {chart.title!r}",
                            f"series {label!r} names {key!r}, which no run reported "
                            f"(reported: {', '.join(result.series) or 'none'})",
                        )
                    )
    for ratio in exp.ratios:
        for term in ratio.terms:
            if result.skipped(term.key):
                continue
            run, name = term.key.split(".", 1)
            if term.info and name not in result.info.get(run, {}):
                problem = f"run {run!r} reported no info {name!r}"
            elif not term.info and _missing(term.key, result):
                problem = f"no metric {term.key!r} (measured: {have})"
            else:
                continue
            found.append(_line(where, f"experiment {exp.id} / ratio {ratio.key}", problem))
    for claim in claims:
        for key in claim.reads:
            if key in derived:
                continue
            if _missing(key, result):
                found.append(
                    _line(_where(claim), f"claim {claim.id}", f"no metric {key!r} in {exp.id}")
                )
        for key in claim.metrics:
            metric = result.metrics.get(key)
            unit = derived.get(key, metric.unit if metric else None)
            if unit is not None and unit != claim.unit:
                found.append(
                    _line(
                        _where(claim),
                        f"claim {claim.id}",
                        f"unit {claim.unit!r} but metric {key!r} is in {unit!r}; "
                        "the rule's numbers are read in the metric's unit",
                    )
                )
    return found


def require_valid(exp: Experiment, claims: list[Claim], result: Result) -> None:
    """Raise PerflabError listing every problem of a result against its registry entry."""
    problems = result_problems(exp, claims, result)
    if problems:
        raise PerflabError("\n".join(problems))


def latest_result(exp: Experiment, profile: str) -> Result | None:
    """A valid cached result of this code: the given profile first, then the other one."""
    for p in (profile, *(q for q in settings.PROFILES if q != profile)):
        result, _ = cache.load(exp, p)
        if result is not None:
            return result
    return None


def check(
    experiments: dict[str, Experiment], claims: list[Claim], ids: list[str], profile: str
) -> tuple[list[str], list[str]]:
    """(problems, notes) for the given experiment ids (all when empty)."""
    chosen = [registry.get(experiments, i) for i in ids] if ids else list(experiments.values())
    problems, notes = [], []
    for exp in chosen:
        mine = [c for c in claims if c.experiment == exp.id]
        problems += entry_problems(exp, mine)
        result = latest_result(exp, profile)
        if result is None:
            notes.append(
                f"{exp.id}: metric names not checked yet (no valid cached result of this code); "
                f"`python -m perflab run {exp.id}` measures and checks them"
            )
            continue
        problems += result_problems(exp, mine, result)
    return problems, notes
