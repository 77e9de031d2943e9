"""Chapter 2 · monitoring: the rule and Alertmanager files pass promtool / amtool, every metric
a rule or panel names is in the service's scraped output, multiprocess counts agree across
workers, an alert fires on the injected fault and not before it, and a run that fails midway
leaves no process behind. Relations only, never timing thresholds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import measured, run_example
from conftest import ROOT

from perflab.services import prom

DRIVER = ROOT / "examples/ch2/monitoring.py"
CONF = ROOT / "examples/ch2/monitoring"
FUNCTIONS = {"rate", "sum", "histogram_quantile", "by", "le"}

sys.path.insert(0, str(ROOT / "examples/ch2"))
import monitoring as driver  # noqa: E402


def metric_names(expr_text: str) -> set[str]:
    """Metric names in PromQL: identifiers followed by a selector or a range."""
    return set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)", expr_text)) - FUNCTIONS


def test_quoted_rules_and_their_short_version_pass_promtool(tmp_path):
    assert "SUCCESS: 2 rules found" in prom.promtool_check_rules(CONF / "alerts.yml")
    short = driver.short_rules((CONF / "alerts.yml").read_text(), 5, 10)
    assert (
        "for: 5s" in short and "[10s]" in short and "for: 1m" not in short and "[5m]" not in short
    )
    # 阈值与表达式不变，只有 for 与窗口变短
    assert short.count("> 0.8") == 1 and short.count("> 0.01") == 1
    # 页面讲阈值落在哪两个桶边界之间，用的是规则里的同一个阈值
    from pages.ch2 import monitoring as page

    p99_rule = re.search(r"histogram_quantile\(0\.99,.*> ([\d.]+)$", short, re.M)
    assert p99_rule and float(p99_rule.group(1)) == page.QUOTED_P99_THRESHOLD_S
    (tmp_path / "short.yml").write_text(short)
    assert "SUCCESS" in prom.promtool_check_rules(tmp_path / "short.yml")


def test_alertmanager_configs_pass_amtool(tmp_path):
    assert "SUCCESS" in prom.amtool_check_config(CONF / "alertmanager_wechat.yml")
    local = (
        (CONF / "alertmanager_local.yml")
        .read_text()
        .replace("{webhook_url}", "http://127.0.0.1:9/alert")
    )
    (tmp_path / "local.yml").write_text(local)
    assert "SUCCESS" in prom.amtool_check_config(tmp_path / "local.yml")


SCRAPE = """
import os, sys
sys.path.insert(0, {here!r})
os.environ["MON_INSTRUMENT"] = {mode!r}
import monitoring_app
client = monitoring_app.app.test_client()
assert client.get("/api/items").status_code == 200
sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def scraped(mode: str) -> str:
    code = SCRAPE.format(here=str(ROOT / "examples/ch2"), mode=mode)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sample_names(exposition: str) -> set[str]:
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in exposition.splitlines()
        if line[:1].isalpha()
    }


def test_every_metric_a_rule_or_panel_names_is_in_the_scraped_output():
    names = sample_names(scraped("fixed"))
    wanted = metric_names((CONF / "alerts.yml").read_text())
    for exprs in driver.PANELS.values():
        wanted |= metric_names(" ".join(exprs.values()))
    wanted |= metric_names(driver.estimate_expr(0.99, "fine", 10))
    assert {"app_request_latency_seconds_bucket", "app_requests_total"} <= wanted
    assert wanted <= names, wanted - names


def test_the_articles_decorator_records_no_status_on_an_exception_and_the_fix_does():
    # 两种装饰器都把正常请求记成 200；文章的那个遇到异常时不记状态码，错误率告警就看不见它
    assert 'status="200"' in scraped("article") and 'status="200"' in scraped("fixed")
    src = (ROOT / "examples/ch2/monitoring_app.py").read_text()
    assert "time.time()" in src and "time.perf_counter()" in src


def test_multiprocess_counts_agree_across_workers_and_single_process_ones_do_not():
    out = run_example(DRIVER, "--part", "workers", "--workers", "2", "--requests", "80")
    m = {k: v["values"][0] for k, v in out["metrics"].items()}
    # 多进程模式：每次抓取都看到全部请求
    assert m["multiproc_min_share"] == m["multiproc_max_share"] == 1.0
    # 单进程模式：请求分到了不止一个 worker，一次抓取只看到其中一个的计数
    assert m["single_max_share"] < 1.0
    assert all(0 < s < out["info"]["single"]["total"] for s in out["info"]["single"]["seen"])


def processes_with(marker: str) -> list[int]:
    """Pids whose environment carries marker (everything a driver started inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def test_a_run_that_fails_midway_stops_prometheus_alertmanager_and_gunicorn(tmp_path):
    # 通知不可能在 1 秒内到达：等待超时，驱动程序在所有组件都已启动之后失败
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    args = ["--part", "alert", "--baseline", "1", "--max-wait", "1"]
    done = subprocess.run(
        [sys.executable, str(DRIVER), *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode != 0
    assert "waiting for both notifications" in done.stderr.splitlines()[0]
    assert processes_with(f"TMPDIR={tmp_path}") == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("part", ["estimate", "overhead"])
def test_driver_shape(part: str):
    args = ["--duration", "2", "--rate", "50"] if part == "estimate" else ["--duration", "1"]
    out = run_example(DRIVER, "--part", part, *args, "--rounds", "1")
    m = {k: v["values"][0] for k, v in out["metrics"].items()}
    info = out["info"]
    assert info["versions"]["prometheus"].startswith("2.")
    if part == "estimate":
        for who in ("default", "fine", "client"):
            assert 0 < m[f"{who}_p50_s"] <= m[f"{who}_p95_s"] <= m[f"{who}_p99_s"]
        assert m["default_p99_ratio"] == pytest.approx(m["default_p99_s"] / m["client_p99_s"])
        assert info["run"]["failed"] == 0
    else:
        assert info["instrumented_has_metrics"] is True
        assert m["rps_on"] > 0 and m["rps_off"] > 0


def test_quick_build_alert_fires_on_the_fault_and_not_before(built_site: Path):
    m = measured(built_site, "ch2.monitoring.alert")
    assert m["alert.baseline_firing"] == 0 and m["alert.baseline_notifications"] == 0
    assert m["alert.notify_HighLatencyP99_s"] > 0 and m["alert.notify_HighErrorRate_s"] > 0


def test_quick_build_estimates_are_ordered(built_site: Path):
    m = measured(built_site, "ch2.monitoring")
    for who in ("default", "fine", "client"):
        p = [m[f"estimate.{who}_{q}_s"] for q in ("p50", "p95", "p99")]
        assert 0 < p[0] <= p[1] <= p[2]
