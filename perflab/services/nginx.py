"""A real nginx (Debian's nginx package) as a load balancer in front of several instances.

Its config, pid file, error log and temp folders live in its own folder; it listens on a free
127.0.0.1 port, forwards to the upstreams round robin, and passes a request id on (the
incoming X-Request-ID, or one nginx makes). Its access log can go, as JSON lines, to a syslog
collector on a Unix datagram socket. Ready when a request through it gets the right answer
from an upstream; always stopped.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence

from perflab.errors import PerflabError
from perflab.services.check import Expect, http_ready
from perflab.services.service import LOOPBACK, Service, start

PACKAGE = "nginx"

# --8<-- [start:conf]
CONF = """
daemon off;
worker_processes 1;
{user}
pid {{dir}}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    # 请求 ID：上游已经带来的就沿用，否则由 nginx 生成
    map $http_x_request_id $rid {{ "" $request_id; default $http_x_request_id; }}
    log_format trace escape=json '{{"source":"nginx","ts":$msec,"request_id":"$rid",'
        '"path":"$uri","status":$status,"upstream":"$upstream_addr",'
        '"duration_s":$request_time}}';
    {access_log}
    upstream app {{
{servers}
        {keepalive}
    }}
    server {{
        listen {LOOPBACK}:{{port}} backlog=4096;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $rid;
        }}
    }}
}}
"""
# --8<-- [end:conf]


def require() -> str:
    path = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise PerflabError(
            f"missing tool: nginx not found on PATH (Debian package: {PACKAGE}; "
            "scripts/setup.sh installs it)"
        )
    return path


@functools.cache
def version() -> str:
    """'1.22.1' from `nginx -v` (printed on stderr as "nginx version: nginx/1.22.1")."""
    out = subprocess.run([require(), "-v"], capture_output=True, text=True, timeout=30)
    text = (out.stderr + out.stdout).strip()
    return text.rsplit("/", 1)[-1] if "/" in text else "unknown"


def config(
    upstreams: Sequence[str], *, keepalive: int = 32, syslog_socket: str | None = None
) -> str:
    """nginx.conf for a round-robin balancer over `upstreams` ("127.0.0.1:PORT" each).

    keepalive = 0: a new connection to an upstream for every request (nginx's default).
    """
    if not upstreams:
        raise PerflabError("nginx: no upstream to balance over")
    for host in upstreams:
        if not host.startswith(f"{LOOPBACK}:"):
            raise PerflabError(f"nginx: upstream {host} is not on {LOOPBACK}")
    servers = "\n".join(f"        server {host};" for host in upstreams)
    access = "access_log off;"
    if syslog_socket:
        access = f"access_log syslog:server=unix:{syslog_socket},nohostname trace;"
    # 以 root 启动时 worker 默认降为 nobody，进不了 0700 的临时目录，也连不上收集端的套接字
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    return CONF.format(
        LOOPBACK=LOOPBACK,
        servers=servers,
        keepalive=f"keepalive {keepalive};" if keepalive else "",
        access_log=access,
        user=user,
    )


@contextlib.contextmanager
def nginx(
    upstreams: Sequence[str],
    *,
    ready: Expect,
    keepalive: int = 32,
    syslog_socket: str | None = None,
    cpus: list[int] | None = None,
    port: int | None = None,
    startup_timeout_s: float = 15.0,
) -> Iterator[Service]:
    """nginx balancing over `upstreams`; ready once `ready` is answered right through it."""
    binary = require()
    conf = config(upstreams, keepalive=keepalive, syslog_socket=syslog_socket)
    # -e：读配置之前的错误也写到标准错误（进服务日志），不碰 /var/log/nginx
    argv = [binary, "-p", "{dir}/", "-c", "{dir}/nginx.conf", "-e", "stderr"]

    with start(
        "nginx",
        argv,
        ready=http_ready(ready),
        cpus=cpus,
        files={"nginx.conf": conf},
        port=port,
        startup_timeout_s=startup_timeout_s,
        version=version(),
    ) as svc:
        svc.info["upstreams"] = list(upstreams)
        yield svc
