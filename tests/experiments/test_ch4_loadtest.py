"""Chapter 4 · load test: the driver's output shape with tiny sizes, its one-line errors, and
relations that must hold in the quick build's results (never timing thresholds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import measured, run_example
from conftest import ROOT

from perflab import gobuild, paths

DRIVER = ROOT / "examples/ch4/loadtest.py"
SERVERS = ("flask", "flaskdev", "fastapi", "gin", "nethttp")


@pytest.fixture(scope="module")
def go_binary() -> Path:
    return gobuild.build(paths.resolve("go-examples/ch4/loadtest"), "test ch4.loadtest")


@pytest.mark.parametrize("server", ["fastapi", "gin"])
def test_driver_shape_verifies_and_reports_versions(server: str, go_binary: Path):
    args = ["--server", server, "--conns", "16", "--warmup", "0", "--duration", "1"]
    args += ["--fractions", "0.25", "--open-duration", "0.5", "--go-binary", str(go_binary)]
    out = run_example(DRIVER, *args)
    m = out["metrics"]
    expected = {"rps_c16", "mean_c16_s", "p50_c16_s", "p99_c16_s", "max_c16_s", "err_c16"}
    expected |= {"ol_p99_f25_s", "ol_p50_f25_s", "rps_max"}
    assert set(m) == expected
    assert m["err_c16"]["unit"] == "%" and m["p99_c16_s"]["unit"] == "s"
    assert m["rps_c16"]["values"][0] > 0
    assert m["p50_c16_s"]["values"][0] <= m["p99_c16_s"]["values"][0] <= m["max_c16_s"]["values"][0]
    info = out["info"]
    assert info["versions"]["vegeta"].startswith("v12.")
    assert ("gin" in info["versions"]) == (server == "gin")
    closed = info["runs"]["closed_c16"]
    assert closed["failed"] == 0 and closed["good"] > 0 and closed["generator"] == "wrk"
    assert info["runs"]["open_f25"]["generator"] == "vegeta"
    if info["server_cpus"]:
        assert not set(info["server_cpus"]) & set(info["load_cpus"])


def test_go_server_needs_its_binary():
    proc = subprocess.run(
        [sys.executable, str(DRIVER), "--server", "gin"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "--go-binary" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_unknown_server_is_rejected():
    proc = subprocess.run(
        [sys.executable, str(DRIVER), "--server", "django"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "invalid choice" in proc.stderr


def test_gin_outruns_flask_on_one_cpu_at_every_connection_count(built_site: Path):
    m = measured(built_site, "ch4.loadtest")
    for n in (16, 100, 1000):
        assert m[f"gin.rps_c{n}"] > m[f"flask.rps_c{n}"], n
        assert m[f"gin.vs_flask_rps_c{n}"] > 1, n


def test_closed_loop_obeys_littles_law(built_site: Path):
    # 闭环里并发数 ≈ 吞吐 × 平均延迟；差一倍以上说明计数或延迟算错了（例如丢了超时的请求）
    # 只查 Python 服务器：Go 服务器每秒几万个请求时，wrk（Debian 4.1.0）自己的平均延迟
    # 就超出利特尔法则的上限（页面上 little_check 的表把这一点摆出来）
    m = measured(built_site, "ch4.loadtest")
    for server in ("flask", "flaskdev", "fastapi"):
        for n in (16, 100):
            in_flight = m[f"{server}.rps_c{n}"] * m[f"{server}.mean_c{n}_s"]
            assert n / 2 <= in_flight <= n * 1.5, (server, n, in_flight)


def test_error_shares_stay_under_the_limit_that_fails_a_run(built_site: Path):
    m = measured(built_site, "ch4.loadtest")
    for server in SERVERS:
        for n in (16, 100, 1000):
            assert 0 <= m[f"{server}.err_c{n}"] <= 5, (server, n)
