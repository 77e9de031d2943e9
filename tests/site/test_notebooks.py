"""The labs: notebooks executed at build time (quick site), downloadable, with no third parties."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from book_helpers import mkdocs_config
from conftest import ROOT

from perflab.units import fmt

LABS = ("gil", "json")


def page(site: Path, name: str) -> str:
    return (site / "labs" / name / "index.html").read_text(encoding="utf-8")


def jupyter_options() -> dict:
    """The mkdocs-jupyter options in mkdocs.yml."""

    config = mkdocs_config()
    (options,) = [p["mkdocs-jupyter"] for p in config["plugins"] if "mkdocs-jupyter" in p]
    return options


def outputs(html: str) -> list[str]:
    """Text of every output area of a rendered notebook page."""
    areas = re.findall(
        r'<div class="jp-OutputArea jp-Cell-outputArea">(.*?)</div>\s*</div>\s*</div>', html, re.S
    )
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", a)) for a in areas]


@pytest.mark.parametrize("name", LABS)
def test_committed_notebooks_carry_no_outputs(name: str):
    # 笔记本里的数字只能来自构建时的执行，仓库里的笔记本不带任何输出
    nb = nbformat.read(ROOT / "docs" / "labs" / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata.kernelspec.name == "python3"


def test_notebooks_are_executed_by_the_engine_without_stale_cache_or_hidden_errors():
    # hooks/notebooks.py 按引擎的缓存规则执行笔记本，mkdocs-jupyter 只渲染执行后的副本
    assert "hooks/notebooks.py" in mkdocs_config()["hooks"]
    options = jupyter_options()
    assert options["execute"] is False and options["allow_errors"] is False
    assert options["cache"] is False and options["include_source"] is True
    assert options["custom_mathjax_url"] == ""
    assert options["kernel_name"] == "python3"


def test_kernel_runs_the_interpreter_that_builds_the_site():
    from jupyter_client import KernelManager

    command = KernelManager(kernel_name="python3").format_kernel_cmd()
    assert command[0] == sys.executable


@pytest.mark.site
@pytest.mark.parametrize("name", LABS)
def test_notebook_page_has_outputs_no_errors_and_a_download(built_site: Path, name: str):
    html = page(built_site, name)
    assert outputs(html), "the notebook was not executed"
    assert not re.search(r'<div[^>]*data-mime-type="application/vnd.jupyter.stderr"', html)
    assert "Traceback" not in html
    # 执行过的笔记本与页面放在一起（单元格与源文件相同，带本次构建的输出），页面标题下有下载链接
    source = nbformat.read(ROOT / "docs" / "labs" / f"{name}.ipynb", as_version=4)
    copied = nbformat.read(built_site / "labs" / name / f"{name}.ipynb", as_version=4)
    assert [c.source for c in copied.cells] == [c.source for c in source.cells]
    assert any(c.get("outputs") for c in copied.cells if c.cell_type == "code")
    assert f'<a href="{name}.ipynb" download>' in html
    for host in ("mathjax", "MathJax", "cdnjs", "jsdelivr", "unpkg"):
        assert host not in html, host


@pytest.mark.site
def test_gil_notebook_shows_the_engine_table_and_a_live_run(built_site: Path):
    html = page(built_site, "gil")
    text = " ".join(outputs(html))
    assert "<table>" in html
    assert "两线程耗时 / 两次顺序耗时" in text and "档位 quick" in text
    # 笔记本读的是本次构建的同一份结果：页面导出的中位数原样出现在笔记本里
    doc = json.loads((built_site / "data" / "results.json").read_text(encoding="utf-8"))
    (gil,) = [e for e in doc["experiments"] if e["id"] == "ch1.gil"]
    (ratio,) = [m for m in gil["metrics"] if m["key"] == "python.threads_vs_sequential"]
    assert fmt(ratio["median"], ratio["unit"]) in text
    # 现场小实验：两种跑法和比值都有测得的数字
    (live,) = [o for o in outputs(html) if "跑法" in o]
    for variant in ("两次顺序执行", "两个线程"):
        assert re.search(rf"{variant} [\d.,]+ (?:ms|s|µs) ", live), variant
    assert re.search(r"两线程 / 顺序（中位数之比） [\d.]+× ", live)
    assert "本内核：Python" in live


@pytest.mark.site
def test_json_notebook_times_every_library(built_site: Path):
    text = " ".join(outputs(page(built_site, "json")))
    assert "四个库的输出都能还原出同一份数据" in text
    for library in ("json", "orjson", "ujson", "msgspec"):
        assert re.search(rf"{library} [\d.,]+ (?:ns|µs|ms) ", text), library
    assert "区间实际覆盖率" in text


def test_a_failing_cell_fails_the_build(tmp_path: Path):
    # 用本书的 mkdocs-jupyter 设置构建一个只有坏笔记本的小站点：必须失败，而不是把错误藏进页面
    options = jupyter_options()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# 首页\n", encoding="utf-8")
    kernel = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": kernel})
    nb.cells = [nbformat.v4.new_code_cell("1 / 0  # 故意出错")]
    nbformat.write(nb, docs / "broken.ipynb")
    site_config = {
        "site_name": "t",
        "docs_dir": str(docs),
        "strict": True,
        "plugins": [{"mkdocs-jupyter": options}],
        "hooks": [str(ROOT / "hooks" / "notebooks.py")],
    }
    (tmp_path / "mkdocs.yml").write_text(json.dumps(site_config), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(tmp_path / "mkdocs.yml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PERFLAB_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert proc.returncode != 0
    assert "notebook" in proc.stderr and "broken.ipynb failed" in proc.stderr
    assert "ZeroDivisionError" in proc.stdout + proc.stderr
    assert not (tmp_path / "site" / "broken" / "index.html").exists()


def test_notebooks_follow_the_engine_cache_rules(tmp_path, monkeypatch):
    # 同一笔记本第二次直接用已执行的副本；失败的单元格让构建失败，并点名笔记本
    from perflab.errors import PerflabError
    from perflab.site import notebooks

    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PERFLAB_REFRESH", raising=False)
    good = tmp_path / "good.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nbformat.write(nb, good)
    lines: list[str] = []
    first = notebooks.executed(good, "quick", lines.append)
    assert first.name == "good.ipynb" and "42" in first.read_text()
    assert notebooks.executed(good, "quick", lines.append) == first
    assert "缓存有效" in lines[-1]

    bad = tmp_path / "bad.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    nbformat.write(nb, bad)
    with pytest.raises(PerflabError, match=r"notebook .*bad\.ipynb failed: .*ZeroDivisionError"):
        notebooks.executed(bad, "quick")


def _titled_nav(node, found: dict[str, str]) -> dict[str, str]:
    """Source file → title for every nav entry that names its title ('标题: file')."""
    if isinstance(node, list):
        for item in node:
            _titled_nav(item, found)
    elif isinstance(node, dict):
        for title, value in node.items():
            if isinstance(value, str):
                found[value] = title
            else:
                _titled_nav(value, found)
    return found


@pytest.mark.site
def test_nav_labels_are_the_titles_set_in_mkdocs_yml(built_site: Path):
    """Notebooks included: the nav shows mkdocs.yml's title, not the notebook's first heading."""
    from perflab.render import page_url

    titled = {
        page_url(src): title
        for src, title in _titled_nav(mkdocs_config()["nav"], {}).items()
        if "://" not in src
    }
    assert any(url.startswith("labs/") for url in titled), titled
    html = (built_site / "index.html").read_text(encoding="utf-8")
    nav = html[html.index('class="md-nav md-nav--primary"') :]
    shown = {}
    for href, label in re.findall(
        r'<a href="([^"#]*)" class="md-nav__link[^"]*">(.*?)</a>', nav, re.S
    ):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", label)).strip()
        shown.setdefault("" if href in (".", "./") else href, text)
    wrong = {
        url: (title, shown.get(url)) for url, title in titled.items() if shown.get(url) != title
    }
    assert not wrong, f"nav label differs from mkdocs.yml (wanted, shown): {wrong}"
    # 页面自己的 <title> 也用 nav 的标题
    for url, title in titled.items():
        if url.startswith("labs/"):
            page_html = (built_site / url / "index.html").read_text(encoding="utf-8")
            assert f"<title>{title} - " in page_html, url
