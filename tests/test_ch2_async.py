"""Chapter 2 · async I/O: the examples' output shapes with tiny sizes, the servers are always
stopped, and relations that must hold in the quick build's results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import measured, run_example
from conftest import ROOT
from processes import process_gone

from perflab import gobuild, paths

CONN_BENCH = ROOT / "examples/ch2/conn_bench.py"


def test_lag_example_shape():
    out = run_example(ROOT / "examples/ch2/async_lag.py", "--levels", "0,50", "--duration", "0.1")
    expected = {f"{stat}_{n}" for stat in ("p50", "p99", "max") for n in (0, 50)}
    assert set(out["metrics"]) == expected
    for name, metric in out["metrics"].items():
        assert metric["unit"] == "s", name
        assert len(metric["values"]) == 1 and metric["values"][0] >= 0
    for n in (0, 50):
        m = out["metrics"]
        assert m[f"p50_{n}"]["values"][0] <= m[f"p99_{n}"]["values"][0]
        assert m[f"p99_{n}"]["values"][0] <= m[f"max_{n}"]["values"][0]
    assert out["info"]["levels"] == [0, 50]
    assert out["info"]["slice_s"] > 0


def test_executor_example_shape():
    out = run_example(
        ROOT / "examples/ch2/async_executor.py",
        "--calls", "8", "--block", "0.002", "--batches", "2",
    )  # fmt: skip
    pools = ("pool_1", "pool_k4", "pool_k2", "pool_k", "pool_2k", "pool_default")
    expected = {f"{kind}_{p}" for kind in ("rps", "p50", "p99") for p in pools}
    assert set(out["metrics"]) == expected
    for p in pools:
        assert len(out["metrics"][f"rps_{p}"]["values"]) == 2
        assert all(v > 0 for v in out["metrics"][f"rps_{p}"]["values"])
        assert out["metrics"][f"p50_{p}"]["unit"] == "s"
    sizes = {p: out["info"]["pools"][p]["size"] for p in pools}
    assert [sizes[p] for p in pools[:5]] == [1, 2, 4, 8, 16]
    assert sizes["pool_default"] >= 1
    # one thread runs the 8 calls one after another: the last waits for all of them
    assert out["metrics"]["p99_pool_1"]["values"][0] >= 8 * 0.002


def test_executor_rejects_too_few_calls():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples/ch2/async_executor.py"), "--calls", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""


@pytest.fixture(scope="module")
def connserver() -> Path:
    return gobuild.build(paths.resolve("go-examples/ch2/connserver"), "test connserver")


@pytest.mark.parametrize("server", ["asyncio", "threads", "go"])
def test_conn_bench_shape_and_servers_stopped(server: str, connserver: Path):
    extra = ["--go-binary", str(connserver)] if server == "go" else []
    out = run_example(
        CONN_BENCH,
        "--server", server, *extra,
        "--conns", "20,50", "--settle", "0.3", "--window", "0.5", "--interval", "0.5",
    )  # fmt: skip
    names = {f"{kind}_{n}" for kind in ("rss", "per_conn", "switches") for n in (20, 50)}
    assert set(out["metrics"]) == names
    for n in (20, 50):
        assert out["metrics"][f"rss_{n}"]["unit"] == "B"
        assert out["metrics"][f"rss_{n}"]["values"][0] > 0
        assert out["metrics"][f"switches_{n}"]["values"][0] >= 0
    info = out["info"]
    assert info["server"] == server
    assert info["levels"] == [20, 50]
    for n in ("20", "50"):
        level = info["per_level"][n]
        # every connection pinged and got its echo back in the window
        assert level["pings_per_s"] > 0
        assert level["echoes_per_s"] > 0
        if server == "threads":
            assert level["threads"] >= int(n) + 1  # one per connection plus the accept loop
        if server == "asyncio":
            assert level["threads"] == 1
    # one fresh server per level, each stopped before the driver exits
    assert len(set(info["server_pids"])) == 2
    for pid in info["server_pids"]:
        assert process_gone(pid, wait_s=0), f"{server} server {pid} is still running"


def test_conn_bench_refuses_more_connections_than_descriptors():
    proc = subprocess.run(
        [sys.executable, str(CONN_BENCH), "--conns", "1000000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "RLIMIT_NOFILE" in proc.stderr


def test_conn_bench_go_needs_binary():
    proc = subprocess.run(
        [sys.executable, str(CONN_BENCH), "--server", "go", "--conns", "10"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "--go-binary" in proc.stderr


def test_switch_rate_sums_every_thread():
    sys.path.insert(0, str(ROOT / "examples/ch2"))
    try:
        import conn_bench
    finally:
        sys.path.remove(str(ROOT / "examples/ch2"))
    before = {"1": (10, 0.0), "2": (0, 0.5), "3": (7, 1.0)}
    after = {"1": (30, 2.0), "2": (40, 2.5), "4": (99, 3.0)}
    # thread 1: 20 in 2 s; thread 2: 40 in 2 s; threads 3 and 4 are not in both samples
    assert conn_bench.switch_rate(before, after) == pytest.approx(30.0)
    assert conn_bench.switch_rate(before, after, ["1"]) == pytest.approx(10.0)
    own = conn_bench.thread_switches(os.getpid())
    assert str(os.getpid()) in own
    assert all(count >= 0 for count, _ in own.values())


def test_lag_grows_with_ready_tasks(built_site: Path):
    m = measured(built_site, "ch2.async.lag")
    levels = sorted(int(k.rsplit("_", 1)[1]) for k in m if k.startswith("python.p50_"))
    assert levels[0] == 0 and levels[-1] > 0
    assert m[f"python.p50_{levels[-1]}"] > m["python.p50_0"]


def test_executor_pool_of_k_beats_pool_of_one(built_site: Path):
    m = measured(built_site, "ch2.async.executor")
    assert m["python.rps_pool_k"] > m["python.rps_pool_1"]
    assert m["python.p50_pool_k"] < m["python.p50_pool_1"]


def test_thread_per_connection_costs_more_memory_than_asyncio(built_site: Path):
    m = measured(built_site, "ch2.async.conn")
    for level in ("1k", "10k"):
        assert m[f"threads.per_conn_{level}"] > m[f"asyncio.per_conn_{level}"]


def test_conn_claims_are_checked_against_the_thread_server(built_site: Path):
    doc = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))
    claims = [c for c in doc["claims"] if c["experiment"] == "ch2.async.conn"]
    assert len(claims) == 4
    assert all(c["metric"].startswith("threads.") for c in claims)
    assert all(c["verdict"] in ("holds", "does-not-hold", "depends") for c in claims)
