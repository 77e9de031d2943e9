"""Lighthouse (npm, pinned in package-lock.json) run on the built site, served on 127.0.0.1.

Lighthouse drives the system Chromium (CHROME_PATH), with its default mobile settings: a
phone-sized screen, a slow 4G network and a 4× slower CPU, simulated from one real load. It
needs no network beyond the loopback server. Two uses:

- the accessibility audits, which do not depend on the machine, are a test
  (tests/site/test_lighthouse.py): every audit that applies must pass;
- the performance score, largest contentful paint and total blocking time, which do, are a
  benchmark (`make lighthouse`, scripts/lighthouse.py): numbers to read, never a threshold.

`serve` answers like a static host that compresses text (GitHub Pages does): gzip when the
browser asks for it, so the bytes Lighthouse's simulated network carries are the real ones.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from perflab import paths, runner
from perflab.errors import PerflabError
from perflab.site import browser

CLI = Path("node_modules/lighthouse/cli/index.js")
PACKAGE = Path("node_modules/lighthouse/package.json")
COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".csv", ".map"}
TIMEOUT_S = 240
# Audit modes that carry a verdict (the others: not applicable, manual, informative).
SCORED = {"binary", "numeric", "metricSavings"}


def version() -> str:
    try:
        return json.loads((paths.ROOT / PACKAGE).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        raise PerflabError(f"{PACKAGE} is missing; run `make setup` (or `npm ci`)") from None


class _Handler(http.server.SimpleHTTPRequestHandler):
    compress = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_head(self):
        target = Path(self.translate_path(self.path))
        if target.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                return super().send_head()  # the redirect to the folder's URL
            target = target / "index.html"
        wants = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.compress and wants and target.suffix in COMPRESSED and target.is_file()):
            return super().send_head()
        body = gzip.compress(target.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(target)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(body)


@contextlib.contextmanager
def serve(site: Path, *, compress: bool = True) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 and a free port; stopped when the block ends."""
    if not (site / "index.html").is_file():
        raise PerflabError(f"{site} holds no built site (no index.html)")
    handler = type("Handler", (_Handler,), {"compress": compress})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(url: str, categories: list[str], *, timeout_s: float = TIMEOUT_S) -> dict:
    """One Lighthouse run (mobile defaults) on `url`; its JSON report."""
    cli = paths.ROOT / CLI
    if not cli.is_file():
        raise PerflabError(f"{CLI} is missing; run `make setup` (or `npm ci`)")
    cmd = [
        "node",
        str(cli),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(categories)}",
        "--disable-full-page-screenshot",
        "--chrome-flags=--headless=new " + " ".join(browser.FLAGS),
    ]
    env = {**os.environ, "CHROME_PATH": browser.executable()}
    label = f"lighthouse {url}"
    stdout = runner.run_command(cmd, label=label, timeout_s=timeout_s, env=env)
    try:
        report = json.loads(stdout)
    except ValueError:
        raise PerflabError(f"{label}: output is not a JSON report: {stdout[:200]!r}") from None
    if report.get("runtimeError"):
        raise PerflabError(f"{label}: {report['runtimeError'].get('message')}")
    return report


def failed_audits(report: dict, category: str) -> list[str]:
    """Audits of a category that apply to the page and did not pass, one line each."""
    lines = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if audit["scoreDisplayMode"] not in SCORED or audit["score"] == 1:
            continue
        items = (audit.get("details") or {}).get("items") or []
        where = [
            (item.get("node") or {}).get("snippet", "")[:80]
            for item in items[:3]
            if isinstance(item, dict)
        ]
        lines.append(f"{ref['id']} ({audit['title']}): {len(items)} elements, e.g. {where}")
    return lines


def metrics(report: dict) -> dict:
    """The numbers `make lighthouse` reports for one run."""
    audits = report["audits"]
    categories = report["categories"]

    def score(name: str) -> float | None:
        value = categories.get(name, {}).get("score")
        return None if value is None else round(value * 100)

    return {
        "performance": score("performance"),
        "accessibility": score("accessibility"),
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "fcp_ms": audits["first-contentful-paint"]["numericValue"],
        "transfer_bytes": audits["total-byte-weight"]["numericValue"],
    }


def chapter_pages(site: Path) -> list[str]:
    """Chapter pages of a built site ('ch2/gc/'), heaviest HTML (gzipped) first."""
    pages = [*site.glob("ch*/*/index.html"), *site.glob("ch*/index.html")]
    weight = {p: len(gzip.compress(p.read_bytes(), compresslevel=6)) for p in pages}
    ordered = sorted(pages, key=lambda p: weight[p], reverse=True)
    return [p.parent.relative_to(site).as_posix() + "/" for p in ordered]


def checked_pages(site: Path) -> dict[str, str]:
    """The pages Lighthouse looks at: the home page, the heaviest chapter page, a notebook."""
    chapters = chapter_pages(site)
    notebooks = sorted(
        p.parent.relative_to(site).as_posix() + "/" for p in site.glob("labs/*/index.html")
    )
    if not chapters or not notebooks:
        raise PerflabError(f"{site}: no chapter page or no notebook page to check")
    return {"home": "", "heaviest chapter": chapters[0], "notebook": notebooks[0]}
