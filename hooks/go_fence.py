"""MkDocs hook: registers the ```go fence (perflab.site.gofence) with markdown-exec."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import markdown_exec  # noqa: E402

from perflab.site.gofence import format_go  # noqa: E402

markdown_exec.formatters["go"] = format_go
