"""perflab.services.prom: a real Prometheus and Alertmanager start on loopback, answer their
APIs, deliver a notification to our webhook, and are always stopped; the checking tools'
errors carry their explanation; a missing binary names its Debian package."""

from __future__ import annotations

import json
import shutil
import socket
import time

import pytest
from processes import process_gone

from perflab.errors import PerflabError
from perflab.services import prom

ALWAYS = """groups:
  - name: test
    rules:
      - alert: Always
        expr: vector(1) > 0
        for: 0s
"""
LOCAL_AM = """route:
  receiver: hook
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: "{url}"
"""


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for(check, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout_s} s")


def test_missing_binary_names_its_debian_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(
        PerflabError, match=r"amtool not found.*Debian package: prometheus-alertmanager"
    ):
        prom.require("amtool")
    with pytest.raises(PerflabError, match=r"Debian package: prometheus;"), prom.prometheus("{}"):
        pass


def test_scrape_config_refuses_targets_off_loopback_and_passes_promtool(tmp_path):
    with pytest.raises(PerflabError, match=r"not on 127\.0\.0\.1"):
        prom.scrape_config({"app": ["10.0.0.1:80"]})
    (tmp_path / "alerts.yml").write_text(ALWAYS)
    config = prom.scrape_config(
        {"app": ["127.0.0.1:8000"]}, rule_files=["alerts.yml"], alertmanager_port=9093
    )
    assert json.loads(config)["global"]["scrape_interval"] == "1s"
    (tmp_path / "prometheus.yml").write_text(config)
    assert "SUCCESS" in prom.promtool_check_config(tmp_path / "prometheus.yml")


def test_checking_tools_report_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n")
    with pytest.raises(PerflabError, match="promtool check rules") as err:
        prom.promtool_check_rules(bad)
    assert "parse error" in err.value.detail or "unclosed" in err.value.detail
    am = tmp_path / "am.yml"
    am.write_text("route:\n  receiver: nobody\nreceivers: []\n")
    with pytest.raises(PerflabError, match="amtool check-config"):
        prom.amtool_check_config(am)


def test_prometheus_scrapes_itself_answers_queries_and_is_stopped_after_a_failure():
    config = prom.scrape_config({"self": ["127.0.0.1:{port}"]})
    with pytest.raises(RuntimeError), prom.prometheus(config) as pro:
        assert prom.scalar(pro, "vector(42)") == 42.0
        wait_for(lambda: prom.targets_up(pro) is None)
        assert prom.scalar(pro, 'up{job="self"}') == 1.0
        now = time.time()
        matrix = prom.query_range(pro, "vector(1)", now - 5, now, 1)
        assert len(matrix[0]["values"]) >= 5
        assert (pro.folder / "data").is_dir()
        assert pro.version.startswith("2.")
        pid, port, folder = pro.pid, pro.port, pro.folder
        raise RuntimeError("测量中途失败")
    assert process_gone(pid) and port_closed(port) and not folder.exists()


def test_a_port_in_use_is_a_one_line_error_naming_the_service():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        config = LOCAL_AM.replace("{url}", "http://127.0.0.1:1/")
        with (
            pytest.raises(PerflabError, match=rf"service alertmanager: port {port} .* in use"),
            prom.alertmanager(config, port=port),
        ):
            pass


def test_bad_query_is_an_error_naming_prometheus():
    with (
        prom.prometheus(prom.scrape_config({})) as pro,
        pytest.raises(PerflabError, match="service prometheus: GET /api/v1/query answered 400"),
    ):
        prom.query(pro, "rate(")


def test_alert_travels_from_prometheus_through_alertmanager_to_our_webhook():
    with prom.webhook_receiver() as hook:
        with prom.alertmanager(LOCAL_AM.replace("{url}", hook.url)) as am:
            config = prom.scrape_config({}, rule_files=["alerts.yml"], alertmanager_port=am.port)
            with prom.prometheus(config, rules={"alerts.yml": ALWAYS}) as pro:
                wait_for(lambda: hook.firing("Always"), 40)
                assert any(a["state"] == "firing" for a in prom.alerts(pro))
                pids = [am.pid, pro.pid]
        port = hook.port
    assert all(process_gone(p) for p in pids)
    assert port_closed(port)
