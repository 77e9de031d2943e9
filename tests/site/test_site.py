"""The quick-profile site, built once, checked as HTML: pages, measured tables, no third parties."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
from book_helpers import nav_pages
from conftest import ROOT, build_log, build_site, perflab_cli, quick_env

pytestmark = pytest.mark.site

THIRD_PARTY = re.compile(
    r"""(?:src|href)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1|localhost)[^"']+["']""", re.I
)
CDN_HOSTS = ("unpkg.com", "jsdelivr", "googleapis", "gstatic", "cdnjs", "mathjax", "polyfill.io")


def html_of(site: Path, page: str) -> str:
    rel = page.removesuffix(".md").removesuffix(".ipynb")
    rel = rel.removesuffix("index").rstrip("/")
    path = site / rel / "index.html" if rel else site / "index.html"
    assert path.is_file(), f"{page} was not built ({path})"
    return path.read_text(encoding="utf-8")


def test_every_nav_page_is_built(built_site: Path):
    pages = nav_pages()
    assert len(pages) >= 9
    for page in pages:
        assert "<article" in html_of(built_site, page)


def test_pilot_page_shows_measured_table_chart_claim_and_provenance(built_site: Path):
    html = html_of(built_site, "ch1/gil.md")
    assert "<th>中位数</th>" in html or ">中位数<" in html
    for label in ("两次顺序执行", "两个线程", "两个进程", "两个 goroutine 并发"):
        assert label in html
    assert re.search(r"<strong>[\d.,]+ (?:ms|s)</strong>", html), (
        "no measured duration in the table"
    )
    assert "<svg" in html and "<text" in html
    assert "perflab-verdict" in html
    assert "perflab-provenance" in html and "档位 quick" in html
    # 联动标签页：Python 与 Go 源码来自真实文件
    text = re.sub(r"<[^>]+>", "", html)
    assert "tabbed-set" in html and "def count" in text and "func count" in text
    assert "--8<--" not in text, "a snippet line was not replaced by the file's code"
    # go 代码块在构建时真的运行了：输出里有这台机器的 GOMAXPROCS
    assert re.search(r"runtime\.GOMAXPROCS\(0\) = [1-9]", text)


def test_no_execution_errors_or_raw_fences_in_pages(built_site: Path):
    for path in built_site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert 'exec="1"' not in html, f"an exec block was not executed in {path}"
        assert "Traceback (most recent call last)" not in html, path
        assert "ExecutionError" not in html, path


def test_no_page_requests_a_third_party_host(built_site: Path):
    for path in built_site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        # <a href> 是链接不是请求；只检查会被浏览器自动加载的资源
        for tag in re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*>", html, re.I):
            if "<link" in tag.lower() and re.search(r'rel="(?:canonical|alternate)"', tag):
                continue
            assert not THIRD_PARTY.search(tag), f"{path}: {tag}"
        for host in CDN_HOSTS:
            assert host not in html, f"{path} mentions {host}"


def test_every_mermaid_fence_is_drawn_at_build_time(built_site: Path):
    """Each ```mermaid fence of a nav page is inline SVG in the built page (a page's code may
    print more); no page needs Mermaid's script, and the site does not ship it."""
    drawn = 0
    for page in nav_pages():
        if not page.endswith(".md"):
            continue
        source = (ROOT / "docs" / page).read_text(encoding="utf-8")
        fences = len(re.findall(r"^```mermaid\s*$", source, re.M))
        html = html_of(built_site, page)
        assert html.count('<div class="perflab-diagram"') >= fences, page
        assert 'class="mermaid"' not in html and "mermaid.min.js" not in html, page
        drawn += fences
    assert drawn > 0, "no page of the book has a diagram"
    assert not list(built_site.rglob("mermaid*.js"))


def test_search_index_is_segmented_chinese(built_site: Path):
    index = json.loads((built_site / "search/search_index.json").read_text(encoding="utf-8"))
    text = " ".join(doc["text"] for doc in index["docs"])
    assert "\u200b" in text
    words = set(re.split(r"[\s\u200b]+", text))
    assert {"线程", "进程"} <= words


def test_results_are_exported_as_json_and_csv(built_site: Path):
    doc = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "perflab-results" and doc["schema_version"] == 2
    assert doc["profile"] == "quick"
    ids = {e["id"] for e in doc["experiments"]}
    assert "ch1.gil" in ids
    for exp in doc["experiments"]:
        assert exp["environment"]["cpu_model"] and exp["environment"]["git_commit"]
        for m in exp["metrics"]:
            assert m["ci_low"] <= m["median"] <= m["ci_high"]
            assert m["n"] == len(m["values"]) == len(m["rounds"]) > 0
    assert {c["verdict"] for c in doc["claims"]} <= {"holds", "does-not-hold", "depends"}
    for claim in doc["claims"]:
        assert claim["condition"] and claim["rule"]["why"] and claim["points"]
        # 扫描的说法：每个扫描点一个判定；视情况而定的扫描给出边界，且边界落在扫描范围内
        if claim["sweep"]:
            assert [p["at"] for p in claim["points"]] == claim["sweep"]["at"]
            at = claim["sweep"]["at"]
            assert all(at[0] <= b["at"] <= at[-1] for b in claim["boundaries"])
    csv_lines = (built_site / "data/results.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].startswith("experiment,run,run_label,metric")
    assert len(csv_lines) - 1 == sum(len(e["metrics"]) for e in doc["experiments"])


def test_home_page_shows_each_claims_conditions_and_the_boundaries_of_a_depends_claim(
    built_site: Path,
):
    """The home page's claims table names the conditions each verdict was judged under, and
    for a 视情况而定 sweep the computed region where the claim holds (the same words as the
    results document's `region`)."""
    html = html_of(built_site, "index.md")
    doc = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))
    assert "<th>判定条件与边界</th>" in html
    cells = re.findall(r'<td data-label="判定条件与边界">(.*?)</td>', html, re.S)
    assert len(cells) >= len(doc["claims"])
    for claim in doc["claims"]:
        assert any(escape(claim["condition"]) in cell for cell in cells), claim["id"]
    crossing = [c for c in doc["claims"] if c["verdict"] == "depends" and c["boundaries"]]
    assert crossing, "no claim of the book depends on a swept condition with a boundary"
    for claim in crossing:
        region = escape(claim["region"])
        assert region.endswith("成立（边界由相邻两点插值）"), claim["id"]
        assert any(f"<strong>{region}</strong>" in cell for cell in cells), claim["id"]


def test_a_failing_example_fails_the_build_and_names_it(tmp_path: Path):
    example = tmp_path / "broken.py"
    example.write_text("raise RuntimeError('故意失败的示例')\n")
    registry = tmp_path / "broken.toml"
    registry.write_text(
        f"""
[[experiment]]
id = "broken.example"
title = "故意失败"
page = "index.md"
repeats = {{ quick = 1, full = 1 }}
[[experiment.run]]
lang = "python"
path = "{example}"
"""
    )
    proc = build_site(
        tmp_path / "site",
        PERFLAB_REGISTRY=str(registry),
        PERFLAB_CACHE_DIR=str(tmp_path / "cache"),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "experiment broken.example (python): example crashed" in output
    assert "故意失败的示例" in output
    assert not (tmp_path / "site" / "index.html").exists()


def test_a_clean_build_prints_no_warning(built_site: Path):
    log = build_log(built_site)
    if not log.is_file():
        pytest.skip("--site-dir: the site was built elsewhere, its output is not here")
    # 一个不是真问题的警告会教会贡献者忽略警告：构建输出里一条都不该有
    warnings = [
        line
        for line in log.read_text(encoding="utf-8").splitlines()
        if re.search(r"\bWARNING\b|\bwarning\b|Warning:", line)
    ]
    assert warnings == []


def test_every_registry_entry_checks_clean_against_the_built_results(built_site: Path):
    if not build_log(built_site).is_file():
        pytest.skip("--site-dir: the results of that build are not in this cache")
    proc = subprocess.run(
        [sys.executable, "-m", "perflab", "check"],
        cwd=ROOT,
        env=quick_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # 构建刚测完全部实验：每个实验的指标名都对照结果查过
    assert "note:" not in proc.stderr


def test_a_site_built_from_two_machines_shards_shows_both(built_site: Path, tmp_path: Path):
    if not build_log(built_site).is_file():
        pytest.skip("--site-dir: the results of that build are not in this cache")
    shard_files = []
    for machine in ("机器甲", "机器乙"):
        out = tmp_path / f"{machine}.json"
        # 缓存刚由 built_site 测满：两个“机器”的分片都直接读缓存，只是名字不同
        perflab_cli("run", "--shard", "1/1", "--machine", machine, "--out", str(out))
        shard_files.append(str(out))
    merged = tmp_path / "merged.json"
    perflab_cli("merge", *shard_files, "--out", str(merged))
    site = tmp_path / "site"
    proc = build_site(site, PERFLAB_RESULTS=str(merged))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "本机不测量" in proc.stderr
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "<th>各机器</th>" in home and "2/2 台机器" in home
    page = (site / "ch1" / "gil" / "index.html").read_text(encoding="utf-8")
    assert "各机器上的同一组指标" in page and "机器甲" in page and "机器乙" in page
    published = json.loads((site / "data" / "results.json").read_text(encoding="utf-8"))
    assert [m["label"] for m in published["machines"]] == ["机器甲", "机器乙"]


def test_every_chart_placeholder_is_filled_after_rendering(built_site: Path):
    # 图表在页面渲染之后才放进去：成品里不能剩占位，图表页上要有内联 SVG
    pages = list(built_site.rglob("*.html"))
    assert not [p for p in pages if "perflab-slot" in p.read_text(encoding="utf-8")]
    assert "<svg" in (built_site / "ch2/gc/index.html").read_text(encoding="utf-8")
