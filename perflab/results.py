"""A measured experiment: its metrics with summaries, extra info, series and provenance."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from perflab.errors import PerflabError
from perflab.stats import Summary, summarize

IMPLEMENTATION_LABELS = {
    "python": "Python",
    "go": "Go",
    "jvm": "JVM",
}
# py312 → Python 3.12，py313t → Python 3.13t（自由线程版）
_INTERPRETER_RUN = re.compile(r"^py3(\d+)(t?)$")


def run_label(run: str) -> str:
    """How tables and charts name a run."""
    if run.lower() in IMPLEMENTATION_LABELS:
        return IMPLEMENTATION_LABELS[run.lower()]
    if m := _INTERPRETER_RUN.match(run):
        return f"Python 3.{m[1]}{m[2]}"
    return run


@dataclass
class Metric:
    """One measured quantity of one run.

    `values` holds one value per process (an independent run), so `summary.n` counts processes.
    A process that reports several samples of a metric (rounds inside one process are not
    independent) contributes their median; the samples themselves are kept in `rounds`.
    """

    key: str  # "<run>.<name>", e.g. "python.threads_s"
    run: str
    name: str
    label: str
    unit: str
    values: list[float]
    # 每个进程报告的原始样本（一个进程一组）；values 是每组的中位数
    rounds: list[list[float]] = field(default_factory=list)
    # 注册表里给这次运行起的显示名（不存进缓存：改名不必重测）
    display: str = ""

    def add_process(self, samples: list[float]) -> None:
        """Record what one process reported: its median becomes one independent value."""
        if not samples:
            raise PerflabError(f"metric {self.key}: a process reported no values")
        self.rounds.append([float(v) for v in samples])
        self.values.append(statistics.median(self.rounds[-1]))

    @property
    def summary(self) -> Summary:
        return summarize(self.values)

    @property
    def run_label(self) -> str:
        return self.display or run_label(self.run)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "run": self.run,
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "values": self.values,
            "rounds": self.rounds,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Metric:
        fields = ("key", "run", "name", "label", "unit", "values")
        metric = cls(**{k: data[k] for k in fields})
        metric.rounds = data.get("rounds") or [[v] for v in metric.values]
        return metric


@dataclass
class Result:
    experiment: str
    title: str
    page: str
    profile: str
    metrics: dict[str, Metric]
    info: dict[str, dict] = field(default_factory=dict)
    series: dict[str, dict] = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    duration_s: float = 0.0
    from_cache: bool = False
    # make serve：本机还没有有效结果，先用参考快照里的这一份（不进缓存，不作本机结果导出）
    from_reference: bool = False

    def metric(self, key: str) -> Metric:
        try:
            return self.metrics[key]
        except KeyError:
            known = ", ".join(self.metrics) or "none"
            raise PerflabError(
                f"experiment {self.experiment} produced no metric {key!r} (it has: {known})"
            ) from None

    def skipped(self, key: str) -> bool:
        """Whether the metric key belongs to an optional run that was skipped (no interpreter)."""
        return "skipped" in self.info.get(key.split(".", 1)[0], {})

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "title": self.title,
            "page": self.page,
            "profile": self.profile,
            "metrics": [m.to_dict() for m in self.metrics.values()],
            "info": self.info,
            "series": self.series,
            "environment": self.environment,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        metrics = [Metric.from_dict(m) for m in data["metrics"]]
        return cls(
            experiment=data["experiment"],
            title=data["title"],
            page=data["page"],
            profile=data["profile"],
            metrics={m.key: m for m in metrics},
            info=data.get("info", {}),
            series=data.get("series", {}),
            environment=data.get("environment", {}),
            duration_s=float(data.get("duration_s", 0.0)),
        )
