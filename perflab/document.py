"""The results document of a build: one builder and one schema for every copy of it.

The same document is published as data/results.json (and flattened to results.csv), kept as
the committed snapshot reference/results.json, and compared on the data page. Only this
module knows its fields; export.py writes it, reference.py reads and compares it.

Schema (SCHEMA_VERSION 2), documented on the data page:
  schema, schema_version, generated_at, profile, build_environment,
  experiments: [{id, title, page, profile, from_cache, duration_s, environment, info, series,
                 metrics: [{key, run, run_label, name, label, unit, median, ci_low, ci_high,
                            ci_confidence, n, wide, values, rounds}]}],
    values: one value per process (n counts processes); rounds: what each process reported;
    run_label: the run's name as every page shows it ("Python 线程", "Python 3.13t")
  claims: [{id, page, claim, quoted, source, experiment, condition, sweep, rule, unit, verdict,
            region, points: [{at, metric, median, ci_low, ci_high, ci_confidence, n, verdict}],
            boundaries: [{at, holds_above}]}]
    sweep is null for a claim judged at fixed conditions (then points has one entry, at null)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from perflab import env, verdict_text
from perflab.claims import Judgement
from perflab.results import Metric, Result

SCHEMA = "perflab-results"
SCHEMA_VERSION = 2

CSV_COLUMNS = [
    "experiment", "run", "run_label", "metric", "label", "unit", "median", "ci_low", "ci_high",
    "ci_confidence", "n", "profile", "measured_at", "git_commit",
]  # fmt: skip


def metric_entry(metric: Metric) -> dict:
    s = metric.summary
    return {
        "key": metric.key,
        "run": metric.run,
        "run_label": metric.run_label,
        "name": metric.name,
        "label": metric.label,
        "unit": metric.unit,
        "median": s.median,
        "ci_low": s.low,
        "ci_high": s.high,
        "ci_confidence": s.confidence,
        "n": s.n,
        "wide": s.wide,
        "values": metric.values,
        "rounds": metric.rounds,
    }


def experiment_entry(r: Result) -> dict:
    return {
        "id": r.experiment,
        "title": r.title,
        "page": r.page,
        "profile": r.profile,
        "from_cache": r.from_cache,
        "duration_s": r.duration_s,
        "environment": r.environment,
        "info": r.info,
        "series": r.series,
        "metrics": [metric_entry(m) for m in r.metrics.values()],
    }


def claim_entry(j: Judgement) -> dict:
    c = j.claim
    return {
        "id": c.id,
        "page": c.page,
        "claim": c.claim,
        "quoted": c.quoted,
        "source": c.source,
        "experiment": c.experiment,
        "condition": c.condition,
        "sweep": None
        if c.sweep is None
        else {"condition": c.sweep.condition, "unit": c.sweep.unit, "at": j.at},
        "rule": vars(c.rule),
        "unit": j.points[0].metric.unit,
        "verdict": j.verdict,
        "region": verdict_text.holding_region(j),
        "points": [
            {
                "at": p.at,
                "metric": p.metric.key,
                "median": p.metric.summary.median,
                "ci_low": p.metric.summary.low,
                "ci_high": p.metric.summary.high,
                "ci_confidence": p.metric.summary.confidence,
                "n": p.metric.summary.n,
                "verdict": p.verdict,
            }
            for p in j.points
        ],
        "boundaries": [{"at": b.at, "holds_above": b.holds_above} for b in j.boundaries],
    }


def build(profile: str, results: list[Result], judgements: list[Judgement]) -> dict:
    """The document of one build from its results and the verdicts on its claims."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": profile,
        "build_environment": env.capture(profile),
        "experiments": [experiment_entry(r) for r in results],
        "claims": [claim_entry(j) for j in judgements],
    }


def csv_rows(doc: dict) -> Iterator[dict]:
    """One flat row per metric (CSV_COLUMNS), for spreadsheets and pandas."""
    for exp in doc["experiments"]:
        for m in exp["metrics"]:
            yield {
                "experiment": exp["id"],
                "run": m["run"],
                "run_label": m["run_label"],
                "metric": m["name"],
                "label": m["label"],
                "unit": m["unit"],
                "median": m["median"],
                "ci_low": m["ci_low"],
                "ci_high": m["ci_high"],
                "ci_confidence": m["ci_confidence"],
                "n": m["n"],
                "profile": exp["profile"],
                "measured_at": exp["environment"].get("date", ""),
                "git_commit": exp["environment"].get("git_commit", ""),
            }
