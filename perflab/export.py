"""Write a build's results document into the site: data/results.json, data/results.csv and
data/reference-comparison.csv (every metric against the reference snapshot; only a header
when there is none).

The document is built by document.py and the comparison by reference.py; this module only
writes them (each file atomically).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from perflab import document, files, reference


def write(doc: dict, out_dir: Path) -> None:
    """Write results.json, results.csv (one row per metric) and the snapshot comparison into
    out_dir; a malformed snapshot raises PerflabError naming it."""
    # 不缩进：C 编码器快几倍，下载也小四分之一（任何 JSON 查看器都能排版）
    files.write_json(out_dir / "results.json", doc)
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=document.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(document.csv_rows(doc))
    files.write_text(out_dir / "results.csv", table.getvalue())
    snapshot = reference.load()
    files.write_text(out_dir / reference.CSV_NAME, reference.comparison_csv(snapshot, doc))
