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
    # Go 服务器不做开环（vegeta 在一个 CPU 上追不上它们的最大吞吐）
    fractions = "" if server == "gin" else "0.25"
    args = ["--server", server, "--conns", "16,32", "--warmup", "0", "--duration", "1"]
    args += ["--fractions", fractions, "--open-duration", "0.5", "--go-binary", str(go_binary)]
    out = run_example(DRIVER, *args)
    m = out["metrics"]
    expected = {f"{q}_c{n}" for q in ("rps", "err") for n in (16, 32)}
    expected |= {f"{q}_c{n}_s" for q in ("mean", "p50", "p99", "max") for n in (16, 32)}
    expected |= {"rps_max"} | ({"ol_p99_f25_s", "ol_p50_f25_s"} if fractions else set())
    assert set(m) == expected
    assert m["err_c16"]["unit"] == "%" and m["p99_c16_s"]["unit"] == "s"
    assert m["rps_c16"]["values"][0] > 0
    assert m["p50_c16_s"]["values"][0] <= m["p99_c16_s"]["values"][0] <= m["max_c16_s"]["values"][0]
    info = out["info"]
    assert info["versions"]["vegeta"].startswith("v12.")
    assert ("gin" in info["versions"]) == (server == "gin")
    closed = info["runs"]["closed_c16"]
    assert closed["failed"] == 0 and closed["good"] > 0 and closed["generator"] == "wrk"
    if fractions:
        assert info["runs"]["open_f25"]["generator"] == "vegeta"
    if info["server_cpus"]:
        assert not set(info["server_cpus"]) & set(info["load_cpus"])


def test_go_server_needs_its_binary():
    proc = subprocess.run(
        [sys.executable, str(DRIVER), "--server", "gin"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "--go-binary" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_open_loop_needs_a_maximum_first():
    args = ["--server", "fastapi", "--conns", "16", "--fractions", "0.5"]
    proc = subprocess.run(
        [sys.executable, str(DRIVER), *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "at least two --conns" in proc.stderr


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
    m = measured(built_site, "ch4.loadtest")
    for server in SERVERS:
        in_flight = m[f"{server}.rps_c16"] * m[f"{server}.mean_c16_s"]
        assert 16 / 2 <= in_flight <= 16 * 2, (server, in_flight)


def test_error_shares_stay_under_the_limit_that_fails_a_run(built_site: Path):
    m = measured(built_site, "ch4.loadtest")
    for server in SERVERS:
        for n in (16, 100, 1000):
            assert 0 <= m[f"{server}.err_c{n}"] <= 5, (server, n)
