"""Write a build's results document into the site: data/results.json and data/results.csv.

The document itself is built by document.py; this module only writes it (each file atomically).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from perflab import document, files


def write(doc: dict, out_dir: Path) -> None:
    """Write results.json and results.csv (one row per metric) into out_dir."""
    files.write_json(out_dir / "results.json", doc, indent=1)
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=document.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(document.csv_rows(doc))
    files.write_text(out_dir / "results.csv", table.getvalue())
