"""Write every result of a build to data/results.json and data/results.csv in the site.

results.json schema (SCHEMA_VERSION 1), documented on the data page:
  schema, schema_version, generated_at, profile, build_environment,
  (an experiment's environment may also carry "interpreters" and "tools")
  experiments: [{id, title, page, profile, from_cache, duration_s, environment, info, series,
                 metrics: [{key, run, name, label, unit, median, ci_low, ci_high,
                            ci_confidence, n, wide, values}]}],
  claims: [{id, page, claim, quoted, source, experiment, metric, rule, median, unit, verdict}]
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from perflab import env
from perflab.book import Book
from perflab.claims import verdict

SCHEMA = "perflab-results"
SCHEMA_VERSION = 1

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
    claims = []
    for c in book.claims:
        metric = book.result(c.experiment).metric(c.metric)
        claims.append(
            {
                "id": c.id,
                "page": c.page,
                "claim": c.claim,
                "quoted": c.quoted,
                "source": c.source,
                "experiment": c.experiment,
                "metric": c.metric,
                "rule": vars(c.rule),
                "median": metric.summary.median,
                "unit": metric.unit,
                "verdict": verdict(c.rule, metric.summary),
            }
        )
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
