"""The data page compares a reader's own results.json with the published one, in Chromium, with
no upload: a metric moved beyond its noise is marked 变化, a flipped verdict 翻转."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.site


def readers_results(built_site: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """The published results with one metric tripled (intervals too) and one verdict flipped."""
    doc = json.loads((built_site / "data" / "results.json").read_text(encoding="utf-8"))
    exp = doc["experiments"][0]
    metric = exp["metrics"][0]
    for field in ("median", "ci_low", "ci_high"):
        metric[field] = metric[field] * 3 + 1  # +1：中位数为 0 时也要移出区间
    claim = doc["claims"][0]
    claim["verdict"] = "does-not-hold" if claim["verdict"] != "does-not-hold" else "holds"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path, f"{exp['id']} {metric['key']}", claim["id"]


def test_a_dropped_results_file_is_compared_in_the_browser(
    built_site: Path, served_site: str, browser, tmp_path: Path
):
    mine, moved_key, flipped_claim = readers_results(built_site, tmp_path)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[tuple[str, str]] = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    try:
        page.goto(f"{served_site}/data/", wait_until="networkidle")
        page.set_input_files(".perflab-compare input[type=file]", str(mine))
        out = page.locator(".perflab-compare-out")
        out.locator(".perflab-compare-summary").wait_for(timeout=10_000)
        moved = out.locator(f'tr[data-key="{moved_key}"] td').last.inner_text()
        assert moved == "变化"
        flipped = out.locator(f'tr[data-claim="{flipped_claim}"] td').last.inner_text()
        assert flipped == "翻转"
        # 没动过的指标都在噪声内：与本站自己比，只有改过的那一行变化
        statuses = out.locator("tr[data-key] td:last-child").all_inner_texts()
        assert statuses.count("变化") == 1 and len(statuses) > 10
        assert "翻转 1 条" in out.locator(".perflab-compare-summary").inner_text()
        # 文件只在浏览器里读：没有任何写请求
        assert [r for r in requests if r[0] != "GET"] == []

        bad = tmp_path / "bad.json"
        bad.write_text('{"schema": "other"}', encoding="utf-8")
        page.set_input_files(".perflab-compare input[type=file]", str(bad))
        page.wait_for_function(
            "() => document.querySelector('.perflab-compare-out').textContent"
            ".includes('不是本书的结果文件')"
        )
        assert errors == []
    finally:
        context.close()
