"""perflab.services: services start on loopback and are always stopped; wrk and vegeta count
only good responses, keep timeouts in the latencies, and fail past the error-share limit."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import process_gone

from perflab import services
from perflab.errors import PerflabError
from perflab.services import closed_loop as wrk_mod
from perflab.services import open_loop as vegeta_mod

TINY = [sys.executable, str(Path(__file__).with_name("tiny_server.py")), "{port}"]
HELLO = {"message": "Hello, World!"}
JSON_OK = services.Expect(path="/json", content_type="application/json", json_body=HELLO)


def tiny(mode: str, *extra: str, **kwargs):
    ready = services.http_ready(
        services.Expect(path="/json", status=500 if mode == "fail500" else 200)
    )
    return services.start(f"tiny-{mode}", [*TINY, mode, *extra], ready=ready, **kwargs)


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_service_is_stopped_port_freed_and_folder_removed_even_when_the_body_fails():
    with pytest.raises(RuntimeError), tiny("ok") as svc:
        assert svc.url.startswith("http://127.0.0.1:")
        assert svc.folder.is_dir() and not port_closed(svc.port)
        pid, port, folder = svc.pid, svc.port, svc.folder
        raise RuntimeError("测量中途失败")
    assert process_gone(pid)
    assert port_closed(port)
    assert not folder.exists()


def test_service_is_pinned_to_its_cpus_and_gets_its_config_files():
    cpus = [sorted(os.sched_getaffinity(0))[0]]
    with tiny("ok", cpus=cpus) as svc:
        assert os.sched_getaffinity(svc.pid) == set(cpus)
    script = (
        "import pathlib, sys, time\n"
        "print(pathlib.Path(sys.argv[1]).read_text(), flush=True)\n"
        "time.sleep(60)\n"
    )
    seen = []

    def ready(svc):
        text = svc.log_path.read_text()
        seen.append(text)
        return None if "port=" in text else "config not echoed yet"

    with services.start(
        "config",
        [sys.executable, "-c", script, "{dir}/app.conf"],
        ready=ready,
        files={"app.conf": "port={port}"},
    ) as svc:
        assert f"port={svc.port}" in seen[-1]


def test_server_that_never_listens_is_a_one_line_error_naming_it():
    sleeper = [sys.executable, "-c", "import time; time.sleep(300)"]
    started = time.monotonic()
    ready = services.http_ready(JSON_OK)
    with (
        pytest.raises(
            PerflabError, match=r"service sleeper: not ready on 127\.0\.0\.1:\d+ within 1 s"
        ),
        services.start("sleeper", sleeper, ready=ready, startup_timeout_s=1),
    ):
        pass
    assert time.monotonic() - started < 10


def test_server_that_fails_to_start_shows_its_stderr():
    crasher = [
        sys.executable,
        "-c",
        "import sys; print('端口配置错误', file=sys.stderr); sys.exit(4)",
    ]
    with (
        pytest.raises(PerflabError, match="service crasher: exited with status 4") as info,
        services.start("crasher", crasher, ready=services.http_ready(JSON_OK)),
    ):
        pass
    assert "端口配置错误" in str(info.value)
    assert len(info.value.args[0].splitlines()) == 1


def test_a_port_in_use_is_a_one_line_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with (
            pytest.raises(PerflabError, match=f"port {port} on 127.0.0.1 is already in use"),
            tiny("ok", port=port),
        ):
            pass


def test_server_that_dies_mid_run_fails_naming_it():
    _, load_cpus = services.split_cpus()
    with (
        pytest.raises(PerflabError, match="service tiny-die-after: exited with status 3"),
        tiny("die-after", "5") as svc,
    ):
        services.wrk(
            svc.url + "/json", target=svc.name, connections=2, duration_s=1, cpus=load_cpus
        )
        time.sleep(0.2)
        svc.check_alive()


def test_verify_rejects_a_wrong_answer_before_any_load():
    with (
        tiny("fail500") as svc,
        pytest.raises(PerflabError, match="verification failed: GET /json answered status 500"),
    ):
        services.verify(svc, JSON_OK)
    wrong_body = services.Expect(path="/json", json_body={"message": "bye"})
    with tiny("ok") as svc:
        services.verify(svc, JSON_OK)
        with pytest.raises(PerflabError, match="tiny-ok: verification failed"):
            services.verify(svc, wrong_body)


def test_unix_socket_service_is_checked_over_its_socket():
    script = (
        "import socketserver,sys,http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def address_string(self): return 'unix'\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.send_header('Content-Type','application/json');"
        ' self.end_headers(); self.wfile.write(b\'{"message": "Hello, World!"}\')\n'
        "socketserver.UnixStreamServer(sys.argv[1], H).serve_forever()\n"
    )
    with services.start(
        "unix",
        [sys.executable, "-c", script, "{socket}"],
        unix_socket=True,
        ready=services.http_ready(JSON_OK),
    ) as svc:
        assert svc.socket_path.exists()
        services.verify(svc, JSON_OK)


def test_wrk_counts_good_responses_and_none_from_an_all_500_server():
    server_cpus, load_cpus = services.split_cpus()
    with tiny("ok", cpus=server_cpus) as svc:
        good = services.wrk(
            svc.url + "/json", target=svc.name, connections=4, duration_s=1, cpus=load_cpus
        )
    assert good.good > 0 and good.failed == 0 and good.error_share == 0
    lat = good.latency_s
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    good.check()
    with tiny("fail500", cpus=server_cpus) as svc:
        bad = services.wrk(
            svc.url + "/json", target=svc.name, connections=4, duration_s=1, cpus=load_cpus
        )
    assert bad.good == 0 and bad.good_rps == 0 and bad.failed > 0
    assert bad.statuses.get("500") == bad.failed
    with pytest.raises(
        PerflabError, match=r"wrk against tiny-fail500: 100\.0% of \d+ requests failed"
    ):
        bad.check()


def test_wrk_keeps_timeouts_in_the_latency_tail_and_flags_them():
    server_cpus, load_cpus = services.split_cpus()
    with tiny("stall", cpus=server_cpus) as svc:
        res = services.wrk(
            svc.url + "/json",
            target=svc.name,
            connections=8,
            duration_s=3,
            timeout_s=1,
            cpus=load_cpus,
        )
    assert res.timeouts > 0 and res.timed_out
    assert res.latency_s["max"] >= 1.0 and res.latency_s["p99"] >= 1.0
    assert res.good == res.statuses["200"] - res.timeouts
    assert res.summary()["tail_is_lower_bound"] is True


def test_vegeta_open_loop_keeps_timeouts_and_counts_statuses():
    server_cpus, load_cpus = services.split_cpus()
    with tiny("stall", cpus=server_cpus) as svc:
        res = services.vegeta(
            svc.url + "/json",
            target=svc.name,
            rate=100,
            duration_s=1,
            timeout_s=0.5,
            cpus=load_cpus,
        )
    assert res.timeouts > 0 and res.latency_s["p99"] >= 0.5
    assert res.good + res.failed == 100
    with tiny("fail500", cpus=server_cpus) as svc:
        bad = services.vegeta(
            svc.url + "/json", target=svc.name, rate=50, duration_s=1, cpus=load_cpus
        )
    assert bad.good == 0 and bad.statuses == {"500": 50}
    with pytest.raises(PerflabError, match="vegeta against tiny-fail500"):
        bad.check()


@pytest.mark.parametrize("gen", ["wrk", "vegeta"])
def test_generators_refuse_non_loopback_targets(gen):
    with pytest.raises(PerflabError, match=r"only http://127\.0\.0\.1:PORT"):
        if gen == "wrk":
            services.wrk("http://example.com/", target="x", connections=1, duration_s=1)
        else:
            services.vegeta("http://example.com/", target="x", rate=1, duration_s=1)


def test_missing_generators_name_the_package_or_module(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PerflabError, match=r"wrk not found on PATH \(Debian package: wrk\)"):
        services.wrk("http://127.0.0.1:1/", target="x", connections=1, duration_s=1)
    monkeypatch.setattr(vegeta_mod.sys, "executable", "/nonexistent/python")
    with pytest.raises(PerflabError, match=r"github\.com/tsenart/vegeta/v12@v12\.13\.0"):
        services.vegeta("http://127.0.0.1:1/", target="x", rate=1, duration_s=1)


@pytest.mark.parametrize("seconds", [0, 600])
def test_duration_is_bounded(seconds):
    url = "http://127.0.0.1:1/"
    with pytest.raises(PerflabError, match=f"^wrk: duration {seconds} s outside"):
        services.wrk(url, target="x", connections=1, duration_s=seconds)
    with pytest.raises(PerflabError, match=f"^vegeta: duration {seconds} s outside"):
        services.vegeta(url, target="x", rate=1, duration_s=seconds)


def test_wrk_report_parsing():
    line = json.dumps(
        {
            "requests": 110,
            "duration_us": 2_000_000,
            "bytes": 1,
            "timeout_us": 1_000_000,
            "statuses": {"200": 100, "503": 10},
            "errors": {"connect": 0, "read": 3, "write": 0, "status": 10, "timeout": 4},
            "recorded": 106,
            "recorded_sum_us": 106_000,
            "min_us": 500,
            "max_us": 2000,
            "p50_us": 1000,
            "p90_us": 1500,
            "p99_us": 1_000_000,
            "p999_us": 1_000_000,
        }
    )
    res = wrk_mod.parse_report("Running 2s test\n" + line, target="x", connections=7)
    assert res.good == 96  # 100 个 2xx 减去 4 个超时
    assert res.failed == 10 + 4 + 3
    assert res.good_rps == 48
    assert res.latency_s["max"] == 1.0 and res.latency_s["p99"] == 1.0
    assert res.latency_s["mean"] == pytest.approx((106_000 + 4 * 1_000_000) / 110 / 1e6)
    assert res.in_flight_max == 7
    with pytest.raises(PerflabError, match="no report"):
        wrk_mod.parse_report("boom", target="x", connections=1)


def test_vegeta_report_parsing():
    report = {
        "latencies": {
            "total": 0,
            "mean": 2_000_000,
            "50th": 1_000_000,
            "90th": 2_000_000,
            "95th": 3_000_000,
            "99th": 500_000_000,
            "max": 500_100_000,
            "min": 1,
        },
        "duration": 1_000_000_000,
        "wait": 0,
        "requests": 100,
        "rate": 100.0,
        "status_codes": {"200": 95, "0": 5},
        "errors": [
            'Get "http://127.0.0.1:1/": context deadline exceeded (Client.Timeout exceeded)'
        ],
    }
    res = vegeta_mod.parse_report(json.dumps(report), target="x", rate=100, timeout_s=0.5)
    assert (res.good, res.failed, res.timeouts) == (95, 5, 5)
    assert res.latency_s["p99"] == 0.5 and res.sent_rate == 100
    assert res.latency_s["p95"] == 0.003
    with pytest.raises(PerflabError, match="vegeta against x: unreadable report"):
        vegeta_mod.parse_report("{}", target="x", rate=1, timeout_s=1)


def test_split_cpus_are_disjoint():
    server, generator = services.split_cpus()
    if len(os.sched_getaffinity(0)) >= 2:
        assert server and generator and not set(server) & set(generator)
    else:
        assert (server, generator) == (None, None)


def test_service_is_stopped_when_its_starter_is_killed(tmp_path):
    # 启动服务的进程被 SIGKILL（例如超时）时，来不及跑 finally：内核替它把服务停掉
    starter = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
        "from perflab import services\n"
        f"cmd = {TINY!r} + ['ok']\n"
        "ready = services.http_ready(services.Expect(path='/json'))\n"
        "with services.start('orphan', cmd, ready=ready) as svc:\n"
        f"    open({str(tmp_path / 'pid')!r}, 'w').write(str(svc.pid))\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", starter])
    pid_file = tmp_path / "pid"
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    server_pid = int(pid_file.read_text())
    proc.kill()
    proc.wait()
    assert process_gone(server_pid)
