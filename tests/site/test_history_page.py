"""The history page built with PERFLAB_HISTORY: kept runs made the way the publishing workflow
makes them (a shard of this machine, merged), one of them moved on purpose, plus a broken file.

The build measures nothing new (the cache is full after `built_site`); the page must show the
figure that moved in bold, name the environment change behind each move, and name the file it
skipped."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import build_log, build_site, perflab_cli

from perflab import shards

pytestmark = pytest.mark.site

# 试点页的说法：它读的指标由示例直接给出（不是注册表里算的比值），放大十倍必然越出噪声
CLAIM, EXPERIMENT, METRIC = "ch1.gil.threads-equal-sum", "ch1.gil", "python.threads_vs_sequential"
ODD_PYTHON = "CPython 3.99.0"


def kept_run(merged: dict, when: dt.datetime, commit: str, moved: bool) -> dict:
    """A copy of the merged file as an earlier run kept it; `moved`: the claim's metric ten
    times larger and measured under another Python."""
    doc = json.loads(json.dumps(merged))
    doc["git_commit"] = commit
    for machine in doc["machines"]:
        machine["environment"].update(git_commit=commit, date=when.isoformat())
        for result in machine["results"]:
            if not moved or result["experiment"] != EXPERIMENT:
                continue
            result["environment"]["python"] = ODD_PYTHON
            (metric,) = [m for m in result["metrics"] if m["key"] == METRIC]
            metric["values"] = [10 * v for v in metric["values"]]
            metric["rounds"] = [[10 * v for v in r] for r in metric["rounds"]]
    return doc


def test_the_history_page_shows_each_move_beyond_noise_and_what_changed(
    built_site: Path, tmp_path: Path
):
    if not build_log(built_site).is_file():
        pytest.skip("--site-dir: the results of that build are not in this cache")
    label = shards.default_machine_label()  # 本次构建在这台机器上的名字，与留存的运行对得上
    shard, merged = tmp_path / "shard.json", tmp_path / "merged.json"
    perflab_cli("run", "--shard", "1/1", "--machine", label, "--out", str(shard))
    perflab_cli("merge", str(shard), "--out", str(merged))
    doc = json.loads(merged.read_text(encoding="utf-8"))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    kept = tmp_path / "history"
    kept.mkdir()
    for days, commit, moved in ((14, "aaaaaaa00001", False), (7, "bbbbbbb00002", True)):
        when = now - dt.timedelta(days=days)
        name = f"{when:%Y-%m-%dT%H%M%SZ}-{commit}.json"
        run = kept_run(doc, when, commit, moved)
        (kept / name).write_text(json.dumps(run), encoding="utf-8")
    (kept / "broken.json").write_text("{", encoding="utf-8")

    site = tmp_path / "site"
    proc = build_site(site, PERFLAB_HISTORY=str(kept))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "history: skipped" in proc.stderr and "broken.json" in proc.stderr
    html = (site / "history" / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)
    assert "跳过了 1 个读不了的文件" in text and "broken.json: not JSON" in text
    # 三次构建：留存的两次与本次；放大的那次前后各越出噪声一次，其余数字都没动
    assert "3 次构建" in text and "相邻两次之间越出噪声的共 2 处" in text
    assert "本次构建相对它的上一次 1 处" in text
    (row,) = [r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if f"<code>{CLAIM}</code>" in r]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    # 列：说法、测量点、三次构建、最近一次越出噪声；放大的那次与本次都是越出噪声后的值
    assert len(cells) == 6, cells
    assert "<strong>" not in cells[2] and "<strong>" in cells[3] and "<strong>" in cells[4]
    last = re.sub(r"<[^>]+>", "", cells[5])
    assert "bbbbbbb → 本次构建" in last, last
    assert re.search(rf"Python：{re.escape(ODD_PYTHON)} → CPython 3\.\d+", last), last
    # 其他说法的数字三次都一样：它们这一列没有移动
    others = [r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if "<td" in r and r != row]
    assert others and all(re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[-1] == "—" for r in others)


def test_a_missing_history_folder_stops_the_build_in_one_line(tmp_path: Path):
    # 在测量之前就报错：一行说明原因，不是页面代码块的回溯
    missing = tmp_path / "no-such-history"
    proc = build_site(tmp_path / "site", PERFLAB_HISTORY=str(missing))
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if str(missing) in line]
    assert lines and "no such folder" in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "[perflab 1/" not in proc.stderr
