"""第四章 · 微服务的代价：TLS、双向 TLS 与边车代理每跳多出多少延迟。

运行时生成一次性的 CA 与证书（cryptography；放在只有本进程可读的临时目录，用完删掉），然后：
  --part direct   Go 服务自己做 TLS：明文、TLS、双向 TLS 三条调用链 r3 → r2 → r1 → leaf，
                  每种调用方式（reuse：keep-alive；new：每次新连接、完整握手；双向 TLS 另有 resume：
                  新连接但恢复 TLS 会话）× 每个跳数测延迟中位数，每跳的代价 = 中位数对跳数的斜率
                  （Theil–Sen）；
  --part sidecar  文章说的边车形态：每个 Go 服务前面一个 nginx，入站终结双向 TLS 再明文转给
                  服务，出站把服务的明文调用用双向 TLS 送到下一个服务的边车。两种配置：连接与
                  TLS 会话都复用（keep），与每次新连接、完整握手（new）。
两部分都先证明双向 TLS 会拒绝没有证书的客户端和持别的 CA 签发证书的客户端，拒绝不了就失败。
服务或边车死在半路时实验失败并报出是哪一个；无论成败，服务、边车与证书目录都会删掉
（--kill 用来演练：边车链起来之后杀掉一个）。

单独运行：python examples/ch4/microservices/tls.py --part direct --go-binary BIN
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import signal
import ssl
import subprocess
from pathlib import Path

import common
from common import log, metric

from perflab import services
from perflab.errors import PerflabError

# 恢复会话只在双向 TLS 上量（省时间）：单向 TLS 的恢复省掉的是同一件事，少一张证书而已
SECURITY = {"plain": ["reuse", "new"], "tls": ["reuse", "new"], "mtls": ["reuse", "resume", "new"]}
NGINX_PACKAGE = "nginx"


def chain_names(hops: int) -> list[str]:
    return [f"r{i}" for i in range(hops, 0, -1)] + ["leaf"]


class Certs:
    """本次运行的证书：每个服务一张、测量客户端一张，另有一个“别的 CA”签发的客户端证书。"""

    def __init__(self, folder: Path, hops: int) -> None:
        self.folder = folder
        self.pki = common.PKI(folder, "perflab")
        self.ca = self.pki.ca
        self.service = {name: self.pki.issue(name) for name in chain_names(hops)}
        self.client = self.pki.issue("client")
        self.other = common.PKI(folder, "other")
        self.stranger = self.other.issue("stranger")

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir())


# ---------------------------------------------------------------- Go 服务自己做 TLS


def go_tls_args(security: str, certs: Certs, name: str) -> list[str]:
    """一个 Go 服务的证书参数：服务端证书、（双向时）验证客户端的 CA 与出示给下游的证书。"""
    if security == "plain":
        return []
    cert, key = certs.service[name]
    out = ["-cert", cert, "-key", key, "-down-ca", certs.ca]
    if security == "mtls":
        out += ["-ca", certs.ca, "-down-cert", cert, "-down-key", key]
    return out


def tls_ready(expect: list[str], client: tuple[str, str] | None, ca: str | None):
    """就绪检查：经 TLS（ca 为空时明文；需要时出示客户端证书）GET /json，调用链对了才算就绪。"""
    import http.client

    ctx = None
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
        if client:
            ctx.load_cert_chain(*client)

    def check(svc: services.Service) -> str | None:
        host, port = services.LOOPBACK, svc.port
        conn = (
            http.client.HTTPSConnection(host, port, context=ctx, timeout=1)
            if ctx
            else http.client.HTTPConnection(host, port, timeout=1)
        )
        try:
            conn.request("GET", "/json")
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            return f"GET {host}:{port}/json: {exc}"
        finally:
            conn.close()
        return common.expect_chain(expect).problem(
            services.Answer(resp.status, resp.getheader("Content-Type", ""), body)
        )

    return check


@contextlib.contextmanager
def go_chain(security: str, hops: int, certs: Certs, go_binary: str, cpus):
    """明文、TLS 或双向 TLS 的 Go 调用链；返回 {跳数: (服务, 它的地址)}。"""
    scheme = "http" if security == "plain" else "https"
    client = certs.client if security == "mtls" else None
    with contextlib.ExitStack() as stack:
        started: dict[int, tuple[services.Service, str]] = {}
        for k in range(hops + 1):
            names = chain_names(k)
            next_url = started[k - 1][1] if k else ""
            argv = [go_binary, "-role", "serve", "-name", names[0], "-port", "{port}"]
            argv += ["-next", next_url, *go_tls_args(security, certs, names[0])]
            ready = tls_ready(names, client, certs.ca if scheme == "https" else None)

            def make(
                inner: contextlib.ExitStack, name=f"{names[0]}-{security}", argv=argv, ready=ready
            ):
                return inner.enter_context(services.start(name, argv, ready=ready, cpus=cpus))

            svc = stack.enter_context(common.on_free_ports(make, f"{names[0]}-{security}"))
            started[k] = (svc, f"{scheme}://127.0.0.1:{svc.port}")
        yield started


def refusals(go_binary: str, url: str, certs: Certs, cpus) -> dict[str, str]:
    """双向 TLS 必须拒绝：没有客户端证书的，和证书由别的 CA 签发的。拒绝不了就抛错。"""
    return {
        "no_certificate": common.refused(go_binary, url, common.tls_args(ca=certs.ca), cpus),
        "other_ca": common.refused(
            go_binary, url, common.tls_args(*certs.stranger, ca=certs.ca), cpus
        ),
    }


def name_the_dead(groups, exc: PerflabError) -> PerflabError:
    for group in groups:
        for svc in group:
            try:
                svc.check_alive("mid-chain")
            except PerflabError as dead:
                return dead
    return exc


def part_direct(args, certs: Certs, server_cpus, load_cpus, metrics, info) -> None:
    hops = list(range(args.hops + 1))
    for security, modes in SECURITY.items():
        with go_chain(security, args.hops, certs, args.go_binary, server_cpus) as started:
            client = certs.client if security == "mtls" else None
            tls = [] if security == "plain" else common.tls_args(*(client or ("", "")), ca=certs.ca)
            try:
                if security == "mtls":
                    info["refused"] = refusals(args.go_binary, started[0][1], certs, load_cpus)
                for mode in modes:
                    p50s = []
                    for k in hops:
                        st = common.probe(
                            args.go_binary,
                            started[k][1],
                            mode=mode,
                            expect=chain_names(k),
                            duration_s=args.probe_duration,
                            warmup=args.warmup,
                            cpus=load_cpus,
                            tls=tls,
                        )
                        # resume 必须真的恢复了会话（客户端这一跳与链上各跳），否则测的不是它
                        if mode == "resume" and (
                            st["resume_share"] < 0.9 or st["chain_resumed"] < k * st["n"] * 0.9
                        ):
                            raise PerflabError(
                                f"{security} resume at {k} hops: sessions were not resumed "
                                f"(client {st['resume_share']:.0%}, "
                                f"chain {st['chain_resumed']} of {k * st['n']})"
                            )
                        p50s.append(st["p50_s"])
                        info["points"][f"{security}_{mode}_h{k}"] = st
                        metrics[f"{security}_{mode}_h{k}_s"] = metric(
                            f"延迟中位数（{security}，{mode}，{k} 跳）", "s", st["p50_s"]
                        )
                    per_hop = common.slope(hops, p50s)
                    metrics[f"{security}_{mode}_hop_s"] = metric(
                        f"每跳多出的延迟（{security}，{mode}）", "s", per_hop
                    )
                    log(f"{security} {mode}：每跳 {per_hop * 1e3:.3f} ms")
            except PerflabError as exc:
                raise name_the_dead([[s for s, _ in started.values()]], exc) from None


# ---------------------------------------------------------------- nginx 边车


def require_nginx() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if path is None:
        raise PerflabError(
            f"missing tool: nginx not found on PATH (Debian package: {NGINX_PACKAGE}; "
            "scripts/setup.sh installs it)"
        )
    return path


def nginx_version() -> str:
    out = subprocess.run([require_nginx(), "-v"], capture_output=True, text=True, timeout=30)
    text = (out.stderr + out.stdout).strip()
    return text.rsplit("/", 1)[-1] if "/" in text else "unknown"


# --8<-- [start:sidecar]
SIDECAR = """
daemon off;
worker_processes 1;
{user}
pid {{dir}}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    upstream app {{ server 127.0.0.1:{app_port}; keepalive 32; }}
    # 入站：在这里终结双向 TLS（只收本 CA 签发的客户端证书），再明文转给本机的服务
    server {{
        listen 127.0.0.1:{{port}} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        ssl_session_tickets {tickets};
        ssl_session_cache {session_cache};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
{outbound}
}}
"""
# 出站：服务的明文调用在这里变成发往下一个边车的双向 TLS
OUTBOUND = """
    upstream next {{ server 127.0.0.1:{next_port}; {keepalive} }}
    server {{
        listen 127.0.0.1:{out_port};
        location / {{
            proxy_pass https://next;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_certificate {cert};
            proxy_ssl_certificate_key {key};
            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse {reuse};
        }}
    }}
"""
# --8<-- [end:sidecar]


def sidecar_conf(
    *,
    app_port: int,
    cert: str,
    key: str,
    ca: str,
    keep: bool,
    next_port: int | None,
    out_port: int | None,
) -> str:
    outbound = ""
    if next_port:
        outbound = OUTBOUND.format(
            next_port=next_port,
            out_port=out_port,
            keepalive="keepalive 32;" if keep else "",
            cert=cert,
            key=key,
            ca=ca,
            reuse="on" if keep else "off",
        )
    # 以 root 启动时 worker 默认降为 nobody，读不了 0700 目录里的证书
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    return SIDECAR.format(
        user=user,
        app_port=app_port,
        cert=cert,
        key=key,
        ca=ca,
        tickets="on" if keep else "off",
        session_cache="shared:in:1m" if keep else "off",
        outbound=outbound,
    )


@contextlib.contextmanager
def sidecar_chain(hops: int, certs: Certs, go_binary: str, keep: bool, cpus):
    """每个 Go 服务配一个 nginx 边车；返回 {跳数: (服务, 边车, 边车入站地址)}。"""
    binary = require_nginx()
    with contextlib.ExitStack() as stack:
        started: dict[int, tuple[services.Service, services.Service, str]] = {}
        for k in range(hops + 1):
            names = chain_names(k)
            next_port = started[k - 1][1].port if k else None

            # 服务与它的边车一起起：出站端口先选好写进两边；被抢了就换端口两个一起重来
            def make(inner: contextlib.ExitStack, names=names, next_port=next_port):
                out_port = services.free_port() if next_port else None
                app_next = f"http://127.0.0.1:{out_port}" if out_port else ""
                app = inner.enter_context(
                    common.service("go", names[0], app_next, cpus=cpus, go_binary=go_binary)
                )
                cert, key = certs.service[names[0]]
                conf = sidecar_conf(
                    app_port=app.port,
                    cert=cert,
                    key=key,
                    ca=certs.ca,
                    keep=keep,
                    next_port=next_port,
                    out_port=out_port,
                )
                proxy = inner.enter_context(
                    services.start(
                        f"sidecar-{names[0]}",
                        [binary, "-p", "{dir}/", "-c", "{dir}/nginx.conf", "-e", "stderr"],
                        ready=tls_ready(names, certs.client, certs.ca),
                        cpus=cpus,
                        files={"nginx.conf": conf},
                        version=nginx_version(),
                    )
                )
                return app, proxy, f"https://127.0.0.1:{proxy.port}"

            started[k] = stack.enter_context(common.on_free_ports(make, f"sidecar-{names[0]}"))
        yield started


def kill(started, name: str) -> None:
    """故障演练：杀掉链上叫 name 的服务或边车（整个进程组），等它退出。"""
    found = [s for group in started.values() for s in group if isinstance(s, services.Service)]
    victim = next((s for s in found if s.name == name), None)
    if victim is None:
        names = ", ".join(s.name for s in found)
        raise PerflabError(f"--kill {name}: no such service or sidecar (there are {names})")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.proc.wait()


def part_sidecar(args, certs: Certs, server_cpus, load_cpus, metrics, info) -> None:
    hops = list(range(args.hops + 1))
    tls = common.tls_args(*certs.client, ca=certs.ca)
    for setup, keep in (("keep", True), ("new", False)):
        with sidecar_chain(args.hops, certs, args.go_binary, keep, server_cpus) as started:
            if args.kill and keep:
                kill(started, args.kill)
            try:
                if keep:
                    info["refused"] = refusals(args.go_binary, started[0][2], certs, load_cpus)
                    mem = common.memory(started[args.hops][1])
                    metrics["sidecar_rss_B"] = metric(
                        "一个 nginx 边车的 RSS（master + worker）", "B", mem["rss"]
                    )
                    metrics["sidecar_uss_B"] = metric(
                        "一个 nginx 边车的 USS（master + worker）", "B", mem["uss"]
                    )
                    app = common.memory(started[args.hops][0])
                    metrics["app_rss_B"] = metric("它护着的 Go 服务的 RSS", "B", app["rss"])
                p50s = []
                for k in hops:
                    st = common.probe(
                        args.go_binary,
                        started[k][2],
                        mode="reuse" if keep else "new",
                        expect=chain_names(k),
                        duration_s=args.probe_duration,
                        warmup=args.warmup,
                        cpus=load_cpus,
                        tls=tls,
                    )
                    p50s.append(st["p50_s"])
                    info["points"][f"sidecar_{setup}_h{k}"] = st
                    metrics[f"sidecar_{setup}_h{k}_s"] = metric(
                        f"延迟中位数（边车，{setup}，{k} 跳）", "s", st["p50_s"]
                    )
                per_hop = common.slope(hops, p50s)
                metrics[f"sidecar_{setup}_hop_s"] = metric(
                    f"每跳多出的延迟（边车，{setup}）", "s", per_hop
                )
                log(f"边车 {setup}：每跳 {per_hop * 1e3:.3f} ms")
            except PerflabError as exc:
                groups = [[a for a, _, _ in started.values()], [p for _, p, _ in started.values()]]
                raise name_the_dead(groups, exc) from None
    info["versions"] = {"nginx": nginx_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["direct", "sidecar"], required=True)
    parser.add_argument("--go-binary", required=True, help="go-examples/ch4/microservices 的二进制")
    parser.add_argument("--hops", type=int, default=3, help="最多几跳")
    parser.add_argument("--probe-duration", type=float, default=0.5, help="每个点计时的秒数")
    parser.add_argument("--warmup", type=int, default=30, help="每个点不计时的请求数")
    parser.add_argument(
        "--kill", default="", help="故障演练：边车链起来之后杀掉这个服务或边车（如 sidecar-r1）"
    )
    args = parser.parse_args()
    if not Path(args.go_binary).is_file():
        raise SystemExit("tls: --go-binary must be the built go-examples/ch4/microservices")
    if args.hops < 1:
        raise SystemExit("tls: --hops must be at least 1")
    if args.kill and args.part != "sidecar":
        raise SystemExit("tls: --kill is for --part sidecar")
    server_cpus, load_cpus = services.split_cpus()
    metrics: dict[str, dict] = {}
    info: dict = {"part": args.part, "points": {}, "hops": args.hops}
    with common.pki_folder() as folder:
        certs = Certs(folder, args.hops)
        info["certificates"] = {"folder": str(folder), "files": certs.files()}
        if args.part == "direct":
            part_direct(args, certs, server_cpus, load_cpus, metrics, info)
        else:
            part_sidecar(args, certs, server_cpus, load_cpus, metrics, info)
    info.update(
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        probe_duration_s=args.probe_duration,
        key_type="ECDSA P-256",
        certificates_removed=not folder.exists(),
    )
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"tls: {exc}") from None
