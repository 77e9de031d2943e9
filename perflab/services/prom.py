"""Prometheus and Alertmanager as services: Debian binaries, own folder, loopback port.

    prometheus()     a real Prometheus server: config and rule files written into its folder,
                     its TSDB inside it, ready on /-/ready; query() / query_range() / alerts()
    alertmanager()   a real Alertmanager (Debian binary `prometheus-alertmanager`), clustering
                     off, ready on /-/ready
    promtool_check_rules(), amtool_check_config()   the tools' own validation, as one-line errors

A missing binary is an error naming the Debian package, never a silent skip. Nothing here is
specific to one chapter: 2.4, 2.5 and chapter 5 scrape their own services with it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path

from perflab.errors import PerflabError
from perflab.runner import tail
from perflab.services.check import Expect, get, http_ready
from perflab.services.service import LOOPBACK, Service, start

# 二进制名 → Debian 包名（错误信息据此告诉读者装什么）
PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
}
READY = Expect(path="/-/ready", status=200)


def require(binary: str) -> str:
    """Path of a Prometheus-family binary, or an error naming its Debian package."""
    path = shutil.which(binary)
    if path is None:
        package = PACKAGES.get(binary, binary)
        raise PerflabError(
            f"missing tool: {binary} not found on PATH (Debian package: {package}; "
            f"scripts/setup.sh installs it)"
        )
    return path


@functools.cache
def version(binary: str) -> str:
    """'2.42.0' from `prometheus --version` (the same line shape for alertmanager, promtool)."""
    out = subprocess.run([require(binary), "--version"], capture_output=True, text=True, timeout=30)
    text = (out.stdout + out.stderr).split()
    # "prometheus, version 2.42.0+ds (branch: ...)" → "2.42.0+ds"
    if "version" in text:
        return text[text.index("version") + 1]
    return "unknown"


def scrape_config(
    targets: Mapping[str, list[str]],
    *,
    interval_s: float = 1.0,
    rule_files: list[str] = (),
    alertmanager_port: int | None = None,
) -> str:
    """A prometheus.yml: one job per entry of `targets` (job → ["127.0.0.1:PORT", ...])."""
    for job, hosts in targets.items():
        for host in hosts:
            if not host.startswith(f"{LOOPBACK}:"):
                raise PerflabError(f"prometheus job {job}: target {host} is not on {LOOPBACK}")
    config: dict = {
        "global": {
            "scrape_interval": f"{interval_s:g}s",
            "evaluation_interval": f"{interval_s:g}s",
            "scrape_timeout": f"{interval_s:g}s",
        },
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in targets.items()
        ],
    }
    if rule_files:
        config["rule_files"] = list(rule_files)
    if alertmanager_port is not None:
        config["alerting"] = {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{LOOPBACK}:{alertmanager_port}"]}]}
            ]
        }
    # YAML 是 JSON 的超集：不必为写配置多装一个 YAML 库
    return json.dumps(config, indent=2)


@contextlib.contextmanager
def prometheus(
    config: str,
    *,
    rules: Mapping[str, str] | None = None,
    cpus: list[int] | None = None,
    port: int | None = None,
    startup_timeout_s: float = 30.0,
    resend_s: float = 1.0,
) -> Iterator[Service]:
    """A Prometheus server on 127.0.0.1 with `config` as prometheus.yml; rule files beside it.

    Rule file paths in the config are relative to the service's folder (e.g. "alerts.yml").
    `resend_s` is --rules.alert.resend-delay (default 1 min in Prometheus): an alert that fires
    before Prometheus has discovered its Alertmanager (discovery syncs every ~5 s) is dropped,
    and would otherwise be sent again only a minute later.
    """
    binary = require("prometheus")
    files = {"prometheus.yml": config, **(rules or {})}
    argv = [
        binary,
        "--config.file={dir}/prometheus.yml",
        "--storage.tsdb.path={dir}/data",
        "--web.listen-address=127.0.0.1:{port}",
        f"--rules.alert.resend-delay={resend_s:g}s",
        "--log.level=warn",
    ]
    with start(
        "prometheus",
        argv,
        ready=http_ready(READY),
        cpus=cpus,
        files=files,
        port=port,
        startup_timeout_s=startup_timeout_s,
        version=version("prometheus"),
    ) as svc:
        yield svc


@contextlib.contextmanager
def alertmanager(
    config: str,
    *,
    cpus: list[int] | None = None,
    port: int | None = None,
    startup_timeout_s: float = 30.0,
) -> Iterator[Service]:
    """An Alertmanager on 127.0.0.1 with `config` as alertmanager.yml; clustering switched off
    (otherwise it listens on 0.0.0.0:9094 for peers)."""
    binary = require("prometheus-alertmanager")
    argv = [
        binary,
        "--config.file={dir}/alertmanager.yml",
        "--storage.path={dir}/data",
        "--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    with start(
        "alertmanager",
        argv,
        ready=http_ready(READY),
        cpus=cpus,
        files={"alertmanager.yml": config},
        port=port,
        startup_timeout_s=startup_timeout_s,
        version=version("prometheus-alertmanager"),
    ) as svc:
        yield svc


def api(svc: Service, path: str, params: Mapping[str, str | float] | None = None) -> object:
    """GET a Prometheus HTTP API path; its `data`, or an error naming the service."""
    query = "?" + urllib.parse.urlencode(params) if params else ""
    try:
        answer = get(svc, path + query, timeout_s=10.0)
    except OSError as exc:
        raise svc.fail(f"GET {path}: {exc}") from None
    try:
        body = json.loads(answer.body)
    except ValueError:
        raise svc.fail(f"GET {path} answered {answer.status}, not JSON") from None
    if answer.status != 200 or body.get("status") != "success":
        raise svc.fail(f"GET {path} answered {answer.status}: {body.get('error', body)}")
    return body["data"]


def query(svc: Service, expr: str, at: float | None = None) -> list[dict]:
    """An instant query's vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
    params: dict = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    data = api(svc, "/api/v1/query", params)
    return data["result"]


def scalar(svc: Service, expr: str, at: float | None = None) -> float | None:
    """One number from an instant query (None when the vector is empty; NaN stays NaN)."""
    result = query(svc, expr, at)
    if not result:
        return None
    if len(result) > 1:
        raise svc.fail(f"query {expr!r} returned {len(result)} series, expected one")
    return float(result[0]["value"][1])


def query_range(svc: Service, expr: str, start: float, end: float, step_s: float) -> list[dict]:
    """A range query's matrix: [{"metric": {...}, "values": [[t, "v"], ...]}, ...]."""
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
    return api(svc, "/api/v1/query_range", params)["result"]


def alerts(svc: Service) -> list[dict]:
    """Prometheus' current alerts (pending and firing), from /api/v1/alerts."""
    return api(svc, "/api/v1/alerts")["alerts"]


def targets_up(svc: Service) -> str | None:
    """None when every scrape target has been scraped and is up; else what is missing."""
    active = api(svc, "/api/v1/targets")["activeTargets"]
    if not active:
        return "no scrape targets"
    for target in active:
        if target.get("health") != "up":
            return f"target {target.get('scrapeUrl')} is {target.get('health')}"
    return None


def _check(cmd: list[str], label: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    out = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise PerflabError(f"{label} failed (exit {done.returncode})", detail=tail(out))
    return out


def promtool_check_rules(path: Path) -> str:
    """`promtool check rules FILE`: its report, or an error with promtool's explanation."""
    return _check(
        [require("promtool"), "check", "rules", str(path)], f"promtool check rules {path}"
    )


def promtool_check_config(path: Path) -> str:
    """`promtool check config FILE` (rule files it names are checked too)."""
    return _check(
        [require("promtool"), "check", "config", str(path)], f"promtool check config {path}"
    )


def amtool_check_config(path: Path) -> str:
    """`amtool check-config FILE`: validates an Alertmanager config without starting one."""
    return _check([require("amtool"), "check-config", str(path)], f"amtool check-config {path}")


class Webhook:
    """Notifications an Alertmanager delivered to a receiver we own: (arrival time, body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[float, dict]] = []

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/alert"

    def firing(self, alertname: str) -> list[tuple[float, dict]]:
        """Deliveries whose payload carries `alertname` in state firing, oldest first."""
        out = []
        for when, body in list(self.received):
            for alert in body.get("alerts", []):
                if (
                    alert.get("labels", {}).get("alertname") == alertname
                    and alert.get("status") == "firing"
                ):
                    out.append((when, body))
                    break
        return out


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Webhook]:
    """A loopback HTTP receiver in this process (Alertmanager's webhook_configs target),
    stamping each delivery with time.time(); always shut down."""
    import http.server
    import threading
    import time

    hook: Webhook

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {"unparsed": True}
            hook.received.append((arrived, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    hook = Webhook(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
