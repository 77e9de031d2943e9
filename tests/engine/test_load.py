"""Servers under test start on a free loopback port and are always stopped; wrk is bounded."""

from __future__ import annotations

import os
import socket
import sys
import time

import pytest
from processes import process_gone

from perflab import load
from perflab.errors import PerflabError

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"]


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_server_is_stopped_and_port_freed_even_when_the_body_fails(tmp_path):
    with pytest.raises(RuntimeError), load.serve(HTTP_SERVER, label="t", cwd=tmp_path) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert not port_closed(server.port)
        pid, port = server.pid, server.port
        raise RuntimeError("测量中途失败")
    assert process_gone(pid)
    assert port_closed(port)


def test_server_that_never_listens_is_reported_and_killed(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(300)"]
    started = time.monotonic()
    expected = r"did not listen on 127\.0\.0\.1:\d+ within 1 s"
    with (
        pytest.raises(PerflabError, match=expected),
        load.serve(sleeper, label="t", startup_timeout_s=1),
    ):
        pass
    assert time.monotonic() - started < 10


def test_server_that_crashes_on_start_shows_its_stderr():
    crasher = [
        sys.executable,
        "-c",
        "import sys; print('端口配置错误', file=sys.stderr); sys.exit(4)",
    ]
    with (
        pytest.raises(PerflabError, match="exited with status 4") as info,
        load.serve(crasher, label="t"),
    ):
        pass
    assert "端口配置错误" in str(info.value)


def test_wrk_refuses_non_loopback_targets():
    with pytest.raises(PerflabError, match="only loopback"):
        load.wrk("http://example.com/", connections=1, duration_s=1)


def test_missing_wrk_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PerflabError, match="missing tool: wrk"):
        load.wrk("http://127.0.0.1:1/", connections=1, duration_s=1)


def test_wrk_measures_a_loopback_server_for_a_bounded_time(tmp_path):
    (tmp_path / "index.html").write_text("ok")
    server_cpus, load_cpus = load.split_cpus()
    with load.serve(HTTP_SERVER, label="t", cwd=tmp_path, cpus=server_cpus) as server:
        started = time.monotonic()
        result = load.wrk(server.url + "/", connections=4, duration_s=1, cpus=load_cpus)
    assert time.monotonic() - started < 15
    assert result.requests > 0 and result.rps > 0
    lat = result.latency_s
    assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]


def test_split_cpus_are_disjoint():
    server, generator = load.split_cpus()
    if len(os.sched_getaffinity(0)) >= 2:
        assert server and generator and not set(server) & set(generator)
    else:
        assert (server, generator) == (None, None)
