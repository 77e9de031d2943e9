"""Chapter 2 · scaling: the stale-read and lost-session counters on a deterministic sequence
(two in-process copies of the app as two workers, requests dealt round robin), with a real
Redis giving none; the trace join by request id; every worker class answering; Redis, nginx
and gunicorn stopped and their folders removed after an injected failure; a port taken between
choosing and binding it; missing packages named; and, from the quick build, relations that must
hold (preload lowers USS, in-process state goes stale only with several workers, Redis never).
Relations only, never timing thresholds."""

from __future__ import annotations

import importlib.util
import itertools
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import measured
from conftest import ROOT

from perflab import services
from perflab.errors import PerflabError
from perflab.services import memory, nginx, redis_server
from perflab.services.service import port_clash

DRIVER = ROOT / "examples/ch2/scaling.py"
APP_DIR = ROOT / "examples/ch2/scaling"

sys.path.insert(0, str(ROOT / "examples/ch2"))
import scaling as driver  # noqa: E402


def load_worker(name: str, env: dict[str, str], monkeypatch):
    """One more copy of the Flask app, as a separate gunicorn worker would have (own globals)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(APP_DIR))
    spec = importlib.util.spec_from_file_location(name, APP_DIR / "wsgi_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app.test_client(use_cookies=False)


def round_robin(workers: dict[str, object]):
    """send() like the driver's, but dealing each request to the next worker in turn."""
    order = itertools.cycle(workers.items())

    def send(method: str, path: str, body: str | None = None, headers=None) -> driver.Reply:
        label, client = next(order)
        resp = client.open(path, method=method, data=body, headers=headers or {})
        data = resp.get_json() or {}
        cookie = resp.headers.get("Set-Cookie", "")
        if cookie:
            data["_cookie"] = cookie.split(";", 1)[0]
        return driver.Reply(resp.status_code, data, label)

    return send


def store(kind: str, db: Path, redis_url: str = "") -> dict[str, str]:
    return driver.store_env(kind, redis_url, db)


def test_counters_on_a_deterministic_round_robin_sequence(tmp_path, monkeypatch):
    env = store("local", tmp_path)
    two = {w: load_worker(f"worker_{w}", env, monkeypatch) for w in "AB"}
    # 第 1 轮：A 写入；B、A、B、A 各自未命中，从库里读到新值并缓存。
    # 第 2 轮：B 写入（只有 B 的缓存失效）；A 两次读到旧值。第 3 轮：A 写入；B 两次读到旧值。
    cache = driver.stale_reads(round_robin(two), rounds=3, reads=4, threads=1)
    assert cache == {"stale": 4, "reads": 12, "pids": {"A": 6, "B": 6}}
    # 会话：登录落在 A，之后 B、A、B、A：落到 B 的两次丢了会话
    sessions = driver.lost_sessions(round_robin(two), requests=4, threads=1)
    assert sessions["lost"] == 2 and sessions["requests"] == 4

    (tmp_path / "one").mkdir()
    one = {"A": load_worker("worker_single", store("local", tmp_path / "one"), monkeypatch)}
    assert driver.stale_reads(round_robin(one), rounds=3, reads=4, threads=1)["stale"] == 0
    assert driver.lost_sessions(round_robin(one), requests=4, threads=1)["lost"] == 0


def test_a_shared_redis_gives_no_stale_read_and_loses_no_session(tmp_path, monkeypatch):
    with redis_server.redis_server() as red:
        for via in ("tcp", "unix"):
            env = store("redis", tmp_path, redis_server.url(red, via))
            two = {w: load_worker(f"redis_{via}_{w}", env, monkeypatch) for w in "AB"}
            cache = driver.stale_reads(round_robin(two), rounds=3, reads=4, threads=1)
            assert cache["stale"] == 0 and cache["reads"] == 12
            assert driver.lost_sessions(round_robin(two), requests=4, threads=1)["lost"] == 0
            # 值真的在 Redis 里，而不是哪个 worker 的内存里
            assert redis_server.client(red, via).get("cache:price") == "3"
            redis_server.client(red, via).flushall()


def line(rid: str, source: str, path: str, ts: float, pid: int | None = None) -> dict:
    out = {"request_id": rid, "source": source, "path": path, "ts": ts, "status": 200}
    if pid is not None:
        out["pid"] = pid
    return out


def test_trace_join_groups_lines_by_request_id_in_time_order():
    full = [
        line("r1", "nginx", "/checkout", 5.0),
        line("r1", "app", "/inventory", 2.0, pid=11),
        line("r1", "nginx", "/inventory", 3.0),
        line("r1", "app", "/checkout", 4.0, pid=12),
    ]
    same_worker = [
        line("r2", "nginx", "/checkout", 9.0),
        line("r2", "app", "/inventory", 6.0, pid=11),
        line("r2", "nginx", "/inventory", 7.0),
        line("r2", "app", "/checkout", 8.0, pid=11),
    ]
    missing = [line("r3", "app", "/checkout", 1.0, pid=13)]
    noise = [{"source": "app", "path": "/api/ping", "ts": 0.5, "pid": 14}]
    lines = full + same_worker + missing + noise
    random.Random(7).shuffle(lines)
    groups = driver.join_by_request_id(lines)
    assert set(groups) == {"r1", "r2", "r3"}
    assert [x["ts"] for x in groups["r1"]] == [2.0, 3.0, 4.0, 5.0]
    assert driver.trace_complete(groups["r1"])
    assert not driver.trace_complete(groups["r2"])  # 两行应用日志来自同一个 worker
    assert not driver.trace_complete(groups["r3"])


@pytest.mark.parametrize("kind", ["sync", "gthread", "uvicorn"])
def test_every_worker_class_answers_from_each_of_its_workers(kind):
    cpus, _ = services.split_cpus()
    with driver.start_app(f"gunicorn-{kind}", kind, 2, cpus) as app:
        services.verify(app, driver.WORK)
        pids = driver.wait_all_workers(app, 2)
        assert len(pids) == 2 and str(app.pid) not in pids


def session_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


def left_in_session(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != sid and session_of(int(entry.name)) == sid:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("part", "running"),
    [
        ("state", ["redis-server", "gunicorn-local-1"]),
        ("lb", ["instance-a", "instance-b", "nginx", "nginx"]),
        ("logs", ["instance-a", "instance-b", "nginx"]),
    ],
)
def test_an_injected_failure_stops_every_process_and_removes_every_folder(part, running, tmp_path):
    # 驱动程序在自己的会话里运行：它启动的每个进程（redis-server、nginx 的主进程与 worker、
    # gunicorn 的主进程与 worker）都在这个会话里，结束后会话里不该剩下任何进程
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    args = ["--part", part, "--workers", "1", "--inject-failure"]
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and out == ""
    first = err.splitlines()[0]
    assert first == f"scaling: injected failure while running {', '.join(running)}"
    assert left_in_session(proc.pid) == []
    assert list(tmp_path.iterdir()) == []


def test_a_port_taken_after_it_was_chosen_is_retried_on_another(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy])
        real = services.service.free_port
        monkeypatch.setattr(services.service, "free_port", lambda: next(ports, None) or real())
        with redis_server.redis_server() as red:
            assert red.port != busy
            assert redis_server.client(red).ping()
        # 调用方指定的端口被占用：不换端口，一行错误说明是哪个端口
        with (
            pytest.raises(PerflabError, match=f"port {busy} on 127.0.0.1 is already in use"),
            redis_server.redis_server(port=busy),
        ):
            pass


def test_clash_detection_reads_each_services_own_words():
    for words in (
        "Could not create server TCP listening socket 127.0.0.1:1: bind: Address already in use",
        "bind() to 127.0.0.1:1 failed (98: Address already in use)",
        "[ERROR] Connection in use: ('127.0.0.1', 1)",
        "listen tcp 127.0.0.1:1: bind: address already in use",
        "Web server failed to start. Port 33349 was already in use.",  # Spring Boot
        "Failed to bind to address 127.0.0.1:1",  # grpc
        "Error: listen EADDRINUSE: address already in use 127.0.0.1:1",  # Node.js
    ):
        assert port_clash(PerflabError("service x: exited before it was ready", detail=words))
    assert not port_clash(PerflabError("service x: exited", detail="syntax error in config"))


def test_missing_packages_are_named(monkeypatch):
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setattr(nginx.shutil, "which", lambda name: None)
    monkeypatch.setattr(nginx.os, "access", lambda *a: False)
    with pytest.raises(PerflabError, match=r"redis-server not found.*Debian package: redis-server"):
        redis_server.require()
    with pytest.raises(PerflabError, match=r"nginx not found.*Debian package: nginx"):
        nginx.require()
    # Python 包缺了也是一行错误，写明包名
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(PerflabError, match=r"missing Python package: psutil"):
        memory.process_memory(os.getpid())
    with pytest.raises(PerflabError, match=r"missing Python package: redis"):
        redis_server._redis_module()


def test_nginx_config_refuses_non_loopback_upstreams():
    with pytest.raises(PerflabError, match=r"not on 127\.0\.0\.1"):
        nginx.config(["10.0.0.1:80"])
    conf = nginx.config(["127.0.0.1:1", "127.0.0.1:2"], keepalive=0)
    assert "keepalive" not in conf.split("upstream app", 1)[1].split("}", 1)[0]
    assert "server 127.0.0.1:1;" in conf and "server 127.0.0.1:2;" in conf


# ---------------------------------------------------------------- quick build

KINDS = ("sync", "gthread", "uvicorn")


def test_quick_build_preload_lowers_unique_memory_per_worker(built_site: Path):
    m = measured(built_site, "ch2.scaling.memory")
    for kind in KINDS:
        assert m[f"gunicorn.uss_{kind}_w4_preload"] < m[f"gunicorn.uss_{kind}_w4"]
        assert m[f"gunicorn.pss_total_{kind}_w4_preload"] < m[f"gunicorn.pss_total_{kind}_w4"]
        # RSS 把共享页也算进去：它比 USS 大
        assert m[f"gunicorn.rss_{kind}_w4_preload"] > m[f"gunicorn.uss_{kind}_w4_preload"]


def test_quick_build_in_process_state_goes_stale_only_with_several_workers(built_site: Path):
    m = measured(built_site, "ch2.scaling.state")
    for what in ("stale", "lost"):
        assert m[f"state.{what}_local_w1"] == 0
        assert m[f"state.{what}_local_w2"] > 0 and m[f"state.{what}_local_w4"] > 0
        assert all(m[f"state.{what}_redis_w{w}"] == 0 for w in (1, 2, 4))


def test_quick_build_go_single_process_is_fresh_and_two_instances_are_not(built_site: Path):
    m = measured(built_site, "ch2.scaling.go")
    assert m["go.stale_go_single"] == 0 and m["go.stale_python_single"] == 0
    assert m["go.stale_go_two"] > 0


def test_quick_build_recycling_starts_new_workers_only_when_asked(built_site: Path):
    m = measured(built_site, "ch2.scaling.recycle")
    assert m["recycle.restarts_none"] == 0
    assert all(m[f"recycle.restarts_{mode}"] > 0 for mode in ("max", "jitter", "preload"))


def test_quick_build_traces_cross_workers_and_balancer_spreads(built_site: Path):
    logs = measured(built_site, "ch2.scaling.logs")
    assert logs["logs.complete_share"] > 0 and logs["logs.workers_logging"] >= 2
    lb = measured(built_site, "ch2.scaling.lb")
    assert 0 < lb["lb.share_a"] < 100
