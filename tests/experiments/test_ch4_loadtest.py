"""Chapter 4 · load test: the driver's output shape with tiny sizes, its one-line errors, and
relations that must hold in the quick build's results (never timing thresholds)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import measured, run_example
from conftest import ROOT

from perflab import gobuild, paths, services

DRIVER = ROOT / "examples/ch4/loadtest.py"
SERVERS = ("flask", "flaskdev", "fastapi", "gin", "nethttp")


@pytest.fixture(scope="module")
def go_binary() -> Path:
    return gobuild.build(paths.resolve("go-examples/ch4/loadtest"), "test ch4.loadtest")


@pytest.fixture(scope="module")
def driver():
    """examples/ch4/loadtest.py imported as a module (its server commands)."""
    spec = importlib.util.spec_from_file_location("ch4_loadtest_driver", DRIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("server", SERVERS)
def test_every_server_answers_status_type_and_body(server: str, driver, go_binary: Path):
    # 每台服务器按驱动程序的启动方式起来（gunicorn、Werkzeug 开发服务器、uvicorn、Go）
    cmd, env = driver.server_command(server, 1, str(go_binary))
    ready = services.http_ready(services.Expect(path="/json"))
    with services.start(server, cmd, env=env, ready=ready) as svc:
        answer = services.get(svc, "/json")
    assert answer.status == 200
    assert answer.content_type.split(";")[0].strip() == "application/json"
    assert json.loads(answer.body) == {"message": "Hello, World!"}
    assert driver.EXPECT.problem(answer) is None


# Python 服务器的开环按最大吞吐的比例；Go 服务器按绝对速率（vegeta 追不上它们的最大吞吐）
OPEN = {"flask": "f25", "flaskdev": "f25", "fastapi": "f25", "gin": "r500"}


@pytest.mark.parametrize("server", sorted(OPEN))
def test_driver_shape_verifies_and_reports_versions(server: str, go_binary: Path):
    level = OPEN[server]
    fractions, rates = ("0.25", "") if level.startswith("f") else ("", level[1:])
    args = ["--server", server, "--conns", "16,32", "--warmup", "0", "--duration", "1"]
    args += ["--fractions", fractions, "--rates", rates, "--open-duration", "0.5"]
    out = run_example(DRIVER, *args, "--go-binary", str(go_binary))
    m = out["metrics"]
    expected = {f"{q}_c{n}" for q in ("rps", "err") for n in (16, 32)}
    expected |= {
        f"{q}_c{n}_s" for q in ("mean", "p50", "p90", "p99", "p999", "max") for n in (16, 32)
    }
    expected |= {f"ol_{q}_{level}_s" for q in ("p99", "p50")}
    expected |= {f"ol_{q}_{level}" for q in ("err", "sent", "rate")}
    assert set(m) == expected | {"rps_max"}
    assert m["err_c16"]["unit"] == "%" and m["p99_c16_s"]["unit"] == "s"
    assert m["rps_c16"]["values"][0] > 0
    ladder = [m[f"{q}_c16_s"]["values"][0] for q in ("p50", "p90", "p99", "p999", "max")]
    assert ladder == sorted(ladder)
    assert m[f"ol_err_{level}"]["values"][0] <= 5  # 开环也受失败率上限约束
    if rates:
        assert m[f"ol_rate_{level}"]["values"] == [float(rates)]
    info = out["info"]
    assert info["versions"]["vegeta"].startswith("v12.")
    assert ("gin" in info["versions"]) == (server == "gin")
    assert ("gunicorn" in info["versions"]) == (server == "flask")
    closed = info["runs"]["closed_c16"]
    assert closed["failed"] == 0 and closed["good"] > 0 and closed["generator"] == "wrk"
    assert info["runs"][f"open_{level}"]["generator"] == "vegeta"
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


def test_every_server_has_an_open_loop_p99_within_the_error_limit(built_site: Path):
    m = measured(built_site, "ch4.loadtest")
    for server in SERVERS:
        prefix = f"{server}.ol_p99_"
        levels = [k.removeprefix(prefix).removesuffix("_s") for k in m if k.startswith(prefix)]
        assert levels, server
        for level in levels:
            assert m[f"{server}.ol_p50_{level}_s"] <= m[f"{server}.ol_p99_{level}_s"], level
            assert 0 <= m[f"{server}.ol_err_{level}"] <= 5, (server, level)
