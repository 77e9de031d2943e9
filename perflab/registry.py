"""The experiment registry (registry/CHAPTER/PAGE.toml): id → example code, inputs, repeats.

The registry is data, not code: a contributor adds an experiment by adding a table to the
page's file in registry/ — registry/ch2/gc.toml belongs to docs/ch2/gc.md — and the claims it
measures sit beside it (see claims.py).
PERFLAB_REGISTRY points the engine at another registry (tests use this).

Derived figures (ratios, shares) are declared beside the experiment as [[experiment.ratio]],
never divided by hand in a page module: the engine computes them round by round (round i of the
numerator over round i of the denominator), exports them with an interval like any metric, and
needs no re-measurement when one is added. Each side is a sum of terms:

    [[experiment.ratio]]
    key = "python.full_collection_share"       # RUN.NAME of the derived metric
    label = "完整回收落在的请求比例"
    numerator = "python.on_gen2_collections"      # a metric key, or a list of them (their sum)
    denominator = { info = "python.requests_per_round" }  # a number the run put in its info
    unit = "%"                                      # "×" (the default) or "%" (a share × 100)

A term is a metric key "RUN.NAME" (one value per round) or { info = "RUN.FIELD" } (a number the
run reported in its info, the same in every round, e.g. how many requests a round made); a
leading "-" subtracts it. A share of a total is `numerator = "a.x"`, `denominator = ["a.x",
"a.y"]`; how far two estimates miss one truth, relative to each other, is `numerator = ["a.e1",
"-a.truth"]`, `denominator = ["a.e2", "-a.truth"]`. A ratio whose terms read a skipped optional
run is left out, as the run's own metrics are.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from perflab import paths, settings
from perflab.errors import PerflabError

PROFILES = settings.PROFILES
# 参数里的 {go:go-examples/包路径} 会被替换成该 Go 包编译出的二进制路径
GO_BINARY = re.compile(r"\{go:([^}]+)\}")
# c：gcc -O2 编出的二进制；node：TypeScript 由 tsc 编译后（或 .js 直接）交给 node 运行
LANGS = ("python", "go", "c", "node")


@dataclass(frozen=True)
class Run:
    """One implementation of an experiment: a Python file, a Go package, a C or TypeScript file."""

    name: str
    lang: str
    path: Path
    args: dict[str, list[str]]
    # Python 解释器："3.12"、"3.13t"（自由线程版）或命令名；None = 运行引擎的解释器
    interpreter: str | None = None
    # 找不到解释器时跳过这次运行（结果的 info 里记下原因），而不是让构建失败
    optional: bool = False
    # 示例读取或编译的其他文件（如 Java 源码）：它们变了，结果也要重测
    sources: tuple[Path, ...] = ()
    # 表格与图里的显示名，如 "Python asyncio 服务器"；空则由 name 推出
    label: str = ""

    def args_for(self, profile: str) -> list[str]:
        return list(self.args.get(profile, []))


@dataclass(frozen=True)
class Reference:
    """A quoted figure drawn across a chart (in the metric's base unit: s, B, a count)."""

    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A bar chart of `metrics`, or one of the kinds below, each with one entry per series.

    - "line": one line per series over the x values; quoted figures as horizontal
      `references` (a boundary map) and a log y axis (`y_scale = "log"`). Numeric x values
      with `x_scale = "log"` (and `x_labels` naming them) put x on a log axis.
    - "percentiles": one metric per percentile in `percentiles` (x_values), on the
      HdrHistogram axis x = 1/(1-q).
    - "grouped": vertical bars, one group per x value, one bar per series.
    - "timeseries": each series names a `key` in the result's series, a dict with "t"
      (seconds), "values", "unit" and optional "events" ([seconds, label] pairs).
    """

    title: str
    metrics: list[str]
    kind: str = "bar"
    x: tuple[str, ...] = ()
    x_title: str = ""
    series: tuple[tuple[str, tuple[str, ...]], ...] = ()
    references: tuple[Reference, ...] = ()
    y_log: bool = False
    x_values: tuple[float, ...] = ()
    x_log: bool = False


@dataclass(frozen=True)
class Term:
    """One addend of a ratio's side: a metric (one value per round) or an info number."""

    key: str  # "RUN.NAME" of a metric, or "RUN.FIELD" of the run's info
    info: bool = False
    sign: int = 1  # -1: subtracted ("-RUN.NAME"), so a side can be a difference

    @property
    def run(self) -> str:
        return self.key.split(".", 1)[0]

    def __str__(self) -> str:
        key = ("-" if self.sign < 0 else "") + self.key
        return f"info {key}" if self.info else key


@dataclass(frozen=True)
class Ratio:
    """A derived metric: numerator ÷ denominator, paired per round (process i with process i).

    Runs are interleaved round by round, so round i of both metrics ran back to back; the
    interval of the ratio is then an interval over pairs, not a quotient of two medians.
    Each side is the sum of its terms in that round; unit "%" gives the quotient × 100.
    """

    key: str
    label: str
    numerator: tuple[Term, ...]
    denominator: tuple[Term, ...]
    unit: str = "×"

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.numerator + self.denominator


@dataclass(frozen=True)
class Experiment:
    id: str
    title: str
    page: str
    runs: list[Run]
    repeats: dict[str, int]
    warmup: dict[str, int]
    timeout_s: float = 120.0
    cpus: int | None = None
    libraries: list[str] = field(default_factory=list)
    # 示例调用的外部工具（如 java）：其版本进缓存键与出处
    tools: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    # 预热怎么做（方法页列出）：引擎预热几次，或示例自己在计时前预热，或为何不预热
    warmup_how: str = ""
    # 所有实现都会读到的其他文件（如 perflab/services）：它们变了，结果也要重测
    sources: tuple[Path, ...] = ()
    # 登记它的注册表文件（错误信息据此指出改哪个文件）
    registry_file: Path | None = None

    def repeats_for(self, profile: str) -> int:
        return self.repeats[profile]

    def warmup_for(self, profile: str) -> int:
        return self.warmup.get(profile, 0)


def _per_profile(raw: object, what: str, exp_id: str) -> dict:
    if not isinstance(raw, dict) or not set(PROFILES) <= set(raw):
        raise PerflabError(f"experiment {exp_id}: {what} must give a value for each of {PROFILES}")
    return raw


CHART_KINDS = ("bar", "line", "percentiles", "grouped", "timeseries")


def _scale(raw: dict, axis: str, exp_id: str) -> bool:
    scale = raw.get(f"{axis}_scale", "linear")
    if scale not in ("linear", "log"):
        raise PerflabError(
            f"experiment {exp_id}: chart {axis}_scale {scale!r} is not linear or log"
        )
    return scale == "log"


def _chart(raw: dict, exp_id: str) -> Chart:
    kind = raw.get("kind", "bar")
    title = raw.get("title")
    if kind == "bar":
        return Chart(title, list(raw["metrics"]))
    if kind not in CHART_KINDS:
        raise PerflabError(
            f"experiment {exp_id}: chart kind {kind!r} is not one of {', '.join(CHART_KINDS)}"
        )
    references = tuple(
        Reference(float(r["value"]), str(r["label"])) for r in raw.get("reference", [])
    )
    y_log = _scale(raw, "y", exp_id)
    if kind == "timeseries":
        series = tuple((s["label"], (s["key"],)) for s in raw.get("series", []) if "key" in s)
        if not series or len(series) != len(raw.get("series", [])):
            raise PerflabError(
                f"experiment {exp_id}: time-series chart {title!r} needs series, each with "
                "a label and the key of a series the example reports"
            )
        return Chart(title, [], kind, (), raw.get("x_title", ""), series, references, y_log)
    x_values: tuple[float, ...] = ()
    if kind == "percentiles":
        x_values = tuple(float(q) for q in raw.get("percentiles", []))
        if any(not 0 <= q < 100 for q in x_values):
            raise PerflabError(f"experiment {exp_id}: chart {title!r}: percentiles lie in [0, 100)")
        x = tuple(f"p{q:g}" for q in x_values)
    else:
        x = tuple(str(v) for v in raw.get("x", []))
    x_log = _scale(raw, "x", exp_id)
    if x_log:
        if kind != "line" or not all(isinstance(v, int | float) for v in raw.get("x", [])):
            raise PerflabError(
                f'experiment {exp_id}: chart {title!r}: x_scale = "log" needs a line chart '
                "with numeric x values"
            )
        x_values = tuple(float(v) for v in raw["x"])
        x = tuple(str(v) for v in raw.get("x_labels", x))
        if len(x) != len(x_values):
            raise PerflabError(f"experiment {exp_id}: chart {title!r}: one x label per x value")
    series = tuple((s["label"], tuple(s["metrics"])) for s in raw.get("series", []))
    if not x or not series or any(len(keys) != len(x) for _, keys in series):
        raise PerflabError(
            f"experiment {exp_id}: {kind} chart {title!r} needs x values and, "
            "for every series, one metric per x value"
        )
    metrics = [key for _, keys in series for key in keys]
    return Chart(
        title, metrics, kind, x, raw.get("x_title", ""), series, references, y_log, x_values, x_log
    )


RATIO_UNITS = ("×", "%")


def _terms(raw: object, side: str, where: str, runs: set[str]) -> tuple[Term, ...]:
    """A ratio's side: "RUN.NAME", { info = "RUN.FIELD" }, or a non-empty list of those."""
    items = raw if isinstance(raw, list) else [raw]
    terms = []
    for item in items:
        if isinstance(item, dict) and set(item) == {"info"} and isinstance(item["info"], str):
            text, info = item["info"], True
        else:
            text, info = item, False
        if not isinstance(text, str) or "." not in text:
            raise PerflabError(
                f'{where}: {side} {item!r} is not "RUN.NAME", {{ info = "RUN.FIELD" }} '
                "or a list of them"
            )
        term = Term(text.removeprefix("-"), info, -1 if text.startswith("-") else 1)
        if term.run not in runs:
            raise PerflabError(
                f"{where}: {side} {term} names run {term.run!r}, "
                f"which is not one of its runs ({', '.join(sorted(runs))})"
            )
        terms.append(term)
    if not terms:
        raise PerflabError(f"{where}: {side} is an empty list")
    return tuple(terms)


def _ratio(raw: dict, exp_id: str, runs: set[str]) -> Ratio:
    missing = [k for k in ("key", "label", "numerator", "denominator") if k not in raw]
    if missing:
        raise PerflabError(f"experiment {exp_id}: a ratio lacks {', '.join(missing)}")
    key = raw["key"]
    where = f"experiment {exp_id}, ratio {key}"
    if not isinstance(key, str) or "." not in key:
        raise PerflabError(f'{where}: key must be "RUN.NAME", like a measured metric')
    unit = raw.get("unit", "×")
    if unit not in RATIO_UNITS:
        raise PerflabError(f"{where}: unit {unit!r} is not × or % (a share, quotient × 100)")
    ratio = Ratio(
        key,
        raw["label"],
        _terms(raw["numerator"], "numerator", where, runs),
        _terms(raw["denominator"], "denominator", where, runs),
        unit,
    )
    if all(term.info for term in ratio.terms):
        raise PerflabError(f"{where}: reads only info numbers; it needs a metric to pair rounds")
    return ratio


def _parse(raw: dict, source: Path) -> Experiment:
    exp_id = raw.get("id")
    if not exp_id:
        raise PerflabError(f"{source}: an experiment has no id")
    runs = []
    for run in raw.get("run", []):
        lang = run.get("lang")
        if lang not in LANGS:
            raise PerflabError(f"experiment {exp_id}: run language {lang!r} is not one of {LANGS}")
        path = paths.resolve(run["path"])
        if not path.exists():
            raise PerflabError(f"experiment {exp_id}: example {run['path']} does not exist")
        args = run.get("args", {})
        name = run.get("name", lang)
        interpreter = run.get("interpreter")
        optional = run.get("optional", False)
        if interpreter is not None and (lang != "python" or not isinstance(interpreter, str)):
            raise PerflabError(
                f"experiment {exp_id}, run {name}: interpreter must be a string such as "
                '"3.12" and only python runs take one'
            )
        if not isinstance(optional, bool):
            raise PerflabError(f"experiment {exp_id}, run {name}: optional must be true or false")
        sources = _source_files(run.get("sources", []), f"experiment {exp_id}, run {name}")
        runs.append(
            Run(
                name=name,
                lang=lang,
                path=path,
                args=args,
                interpreter=interpreter or None,
                optional=optional,
                sources=sources,
                label=run.get("label", ""),
            )
        )
    if not runs:
        raise PerflabError(f"experiment {exp_id}: no [[experiment.run]] entry")
    return Experiment(
        id=exp_id,
        title=raw.get("title", exp_id),
        page=paths.page_of(raw, source, f"experiment {exp_id}"),
        runs=runs,
        repeats=_per_profile(raw.get("repeats"), "repeats", exp_id),
        warmup=raw.get("warmup", {}),
        timeout_s=float(raw.get("timeout_s", 120)),
        cpus=raw.get("cpus"),
        libraries=list(raw.get("libraries", [])),
        tools=list(raw.get("tools", [])),
        charts=[_chart(c, exp_id) for c in raw.get("chart", [])],
        ratios=[_ratio(r, exp_id, {run.name for run in runs}) for r in raw.get("ratio", [])],
        warmup_how=raw.get("warmup_how", ""),
        sources=_source_files(raw.get("sources", []), f"experiment {exp_id}"),
        registry_file=source,
    )


def _source_files(listed: list[str], what: str) -> tuple[Path, ...]:
    """Files an experiment reads besides its examples: each entry a file or a whole folder.

    A folder stands for every file under it (caches left out), so a package such as
    perflab/services is named once. A missing entry is a PerflabError naming `what`.
    """
    found: list[Path] = []
    for raw in listed:
        path = paths.resolve(raw)
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
        elif path.is_file():
            found.append(path)
        else:
            raise PerflabError(f"{what}: source {raw} is neither a file nor a folder")
    return tuple(found)


def in_file(registry_file: Path, problem: object) -> str:
    """A problem as one line that starts with the registry file it is in."""
    where = paths.relative(registry_file)
    text = str(problem)
    return text if text.startswith(where) else f"{where}: {text}"


def read_tables(kind: str) -> list[tuple[dict, Path]]:
    """Every [[kind]] table of every registry file, with the file it came from."""
    files = paths.registry_files()
    if not files or not all(f.is_file() for f in files):
        raise PerflabError(f"experiment registry not found: {', '.join(map(str, files)) or 'none'}")
    tables = []
    for path in files:
        try:
            data = _parsed(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise PerflabError(f"registry file {path} is not valid TOML: {exc}") from None
        tables += [(raw, path) for raw in data.get(kind, [])]
    return tables


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> dict:
    """A registry file's text parsed once (experiments and claims read the same files, and
    neither changes the tables it reads); keyed by the text itself, so an edit is never missed."""
    return tomllib.loads(text)


def load() -> dict[str, Experiment]:
    experiments: dict[str, Experiment] = {}
    for raw, source in read_tables("experiment"):
        try:
            exp = _parse(raw, source)
        except PerflabError as exc:
            raise PerflabError(in_file(source, exc)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise PerflabError(
                in_file(source, f"experiment {raw.get('id', '?')}: malformed entry ({exc!r})")
            ) from None
        if exp.id in experiments:
            raise PerflabError(f"experiment id {exp.id} is registered twice ({source})")
        experiments[exp.id] = exp
    return experiments


def get(experiments: dict[str, Experiment], exp_id: str) -> Experiment:
    try:
        return experiments[exp_id]
    except KeyError:
        known = ", ".join(sorted(experiments)) or "none"
        raise PerflabError(f"unknown experiment id {exp_id!r} (known: {known})") from None
