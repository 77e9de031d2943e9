"""Write every result of a build to data/results.json and data/results.csv in the site.

results.json schema (SCHEMA_VERSION 2), documented on the data page:
  schema, schema_version, generated_at, profile, build_environment,
  (an experiment's environment may also carry "interpreters" and "tools")
  experiments: [{id, title, page, profile, from_cache, duration_s, environment, info, series,
                 metrics: [{key, run, name, label, unit, median, ci_low, ci_high,
                            ci_confidence, n, wide, values, rounds}]}],
    values: one value per process (n counts processes); rounds: what each process reported
  claims: [{id, page, claim, quoted, source, experiment, condition, sweep, rule, unit, verdict,
            region, points: [{at, metric, median, ci_low, ci_high, ci_confidence, n, verdict}],
            boundaries: [{at, holds_above}]}]
    sweep is null for a claim judged at fixed conditions (then points has one entry, at null)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from perflab import env, render
from perflab.book import Book
from perflab.claims import Judgement

SCHEMA = "perflab-results"
SCHEMA_VERSION = 2

CSV_COLUMNS = [
    "experiment", "run", "metric", "label", "unit", "median", "ci_low", "ci_high",
    "ci_confidence", "n", "profile", "measured_at", "git_commit",
]  # fmt: skip


def _metric(metric) -> dict:
    s = metric.summary
    return {
        **{k: v for k, v in metric.to_dict().items() if k != "values"},
        "median": s.median,
        "ci_low": s.low,
        "ci_high": s.high,
        "ci_confidence": s.confidence,
        "n": s.n,
        "wide": s.wide,
        "values": metric.values,
        "rounds": metric.rounds,
    }


def _claim(j: Judgement) -> dict:
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
        "region": render.holding_region(j),
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


def document(book: Book) -> dict:
    experiments = []
    for exp_id in book.experiments:
        r = book.result(exp_id)
        experiments.append(
            {
                "id": r.experiment,
                "title": r.title,
                "page": r.page,
                "profile": r.profile,
                "from_cache": r.from_cache,
                "duration_s": r.duration_s,
                "environment": r.environment,
                "info": r.info,
                "series": r.series,
                "metrics": [_metric(m) for m in r.metrics.values()],
            }
        )
    claims = [_claim(book.judge(c)) for c in book.claims]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": book.profile,
        "build_environment": env.capture(book.profile),
        "experiments": experiments,
        "claims": claims,
    }


def write(book: Book, out_dir: Path) -> dict:
    """Write results.json and results.csv into out_dir (written to temp names, then renamed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = document(book)
    tmp_json = out_dir / "results.json.tmp"
    tmp_json.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp_csv = out_dir / "results.csv.tmp"
    with tmp_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for exp in doc["experiments"]:
            for m in exp["metrics"]:
                writer.writerow(
                    {
                        "experiment": exp["id"],
                        "run": m["run"],
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
                )
    tmp_json.replace(out_dir / "results.json")
    tmp_csv.replace(out_dir / "results.csv")
    return doc
