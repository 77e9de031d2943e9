"""Chapter 4.4 · what a microservice costs: every service answers right through every chain,
mutual TLS refuses a client without a certificate and one from another CA, certificates are
generated, used and removed, a failure mid-chain (a service, or a sidecar) names it and leaves
no process and no certificate behind, a missing proxy or JDK names its Debian package, and
relations that must hold in the quick build's results (never timing thresholds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import experiment, measured, run_example
from conftest import ROOT

from perflab import gobuild, maven, paths, services
from perflab.errors import PerflabError

HERE = ROOT / "examples/ch4/microservices"
sys.path.insert(0, str(HERE))
import common  # noqa: E402
import limits as limits_driver  # noqa: E402
import tls as tls_driver  # noqa: E402

MiB = 2**20


@pytest.fixture(scope="module")
def go_binary() -> str:
    return str(gobuild.build(paths.resolve("go-examples/ch4/microservices"), "test ch4.micro"))


def processes_with(marker: str) -> list[int]:
    """Pids whose environment carries marker (everything a driver started inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def run_isolated(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """A driver run whose temporary folders (services, certificates) all land in tmp_path."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def spring_jar() -> str:
    """The Spring Boot jar: from the cache, or built once by Maven (as the book's build does)."""
    return str(maven.jar(paths.resolve("examples/ch4/microservices/spring"), "test ch4.micro"))


def check_chain_answers(out: dict, hops: int, modes: tuple[str, ...]) -> None:
    points = out["info"]["points"]
    for mode in modes:
        for k in range(hops + 1):
            # 每个点的最后一个回答：链上每个服务都按顺序出现
            expected = [f"r{i}" for i in range(k, 0, -1)] + ["leaf"]
            assert points[f"{mode}_h{k}"]["chain"] == expected
            assert points[f"{mode}_h{k}"]["n"] > 0
        assert f"hop_{mode}_s" in out["metrics"]
    top = [f"r{i}" for i in range(hops, 0, -1)] + ["leaf"]
    assert points[f"load_h{hops}_c1"]["chain"] == top and points[f"load_h{hops}_c1"]["n"] > 0
    assert out["metrics"]["hop_load_c1_s"]["unit"] == "s"


@pytest.mark.parametrize(("runtime", "hops"), [("go", 3), ("fastapi", 1), ("flask", 1)])
def test_every_chain_answers_right_in_both_modes(runtime: str, hops: int, go_binary: str):
    args = ["--runtime", runtime, "--go-binary", go_binary, "--hops", str(hops)]
    args += ["--conns", "1,4", "--probe-duration", "0.05", "--warmup", "3"]
    check_chain_answers(run_example(HERE / "hops.py", *args), hops, ("reuse", "new"))


def test_the_spring_boot_chain_answers_right(go_binary: str, spring_jar: str):
    # Spring Boot 版总是复用到下游的连接：只有 reuse
    args = ["--runtime", "spring", "--go-binary", go_binary, "--jar", spring_jar, "--hops", "1"]
    args += ["--modes", "reuse", "--conns", "1", "--probe-duration", "0.05", "--warmup", "3"]
    check_chain_answers(run_example(HERE / "hops.py", *args), 1, ("reuse",))


def test_mutual_tls_refuses_no_certificate_and_another_ca_and_takes_the_right_one(
    tmp_path: Path, go_binary: str
):
    pki, other = common.PKI(tmp_path, "main"), common.PKI(tmp_path, "other")
    cert, key = pki.issue("leaf")
    client, stranger = pki.issue("client"), other.issue("stranger")
    argv = [go_binary, "-role", "serve", "-name", "leaf", "-port", "{port}"]
    argv += ["-cert", cert, "-key", key, "-ca", pki.ca]
    ready = tls_driver.tls_ready(["leaf"], client, pki.ca)
    with services.start("leaf-mtls", argv, ready=ready) as svc:
        url = f"https://127.0.0.1:{svc.port}"
        no_cert = common.refused(go_binary, url, common.tls_args(ca=pki.ca), None)
        wrong_ca = common.refused(go_binary, url, common.tls_args(*stranger, ca=pki.ca), None)
        assert "certificate required" in no_cert
        # 别的 CA 签发的证书确实出示了，被验证拒绝（不是“没出示”）
        assert "certificate required" not in wrong_ca and "certificate" in wrong_ca
        st = common.probe(
            go_binary,
            url,
            mode="new",
            expect=["leaf"],
            duration_s=0.05,
            warmup=1,
            cpus=None,
            tls=common.tls_args(*client, ca=pki.ca),
        )
        assert st["n"] > 0
        # 持正确证书的客户端不会被当成“被拒绝”
        with pytest.raises(PerflabError, match="should have refused"):
            common.refused(go_binary, url, common.tls_args(*client, ca=pki.ca), None)


def test_sidecars_refuse_strangers_and_certificates_are_removed(tmp_path: Path, go_binary: str):
    args = ["--part", "sidecar", "--go-binary", go_binary, "--hops", "1"]
    done = run_isolated(tmp_path, "tls.py", *args, "--probe-duration", "0.05", "--warmup", "3")
    assert done.returncode == 0, done.stderr
    out = __import__("json").loads(done.stdout)
    info = out["info"]
    # 证书是这次生成的、用过了（边车与客户端都靠它们握手成功），然后连目录一起删掉
    assert Path(info["certificates"]["folder"]).parent == tmp_path
    assert {"perflab-ca.pem", "client-cert.pem", "leaf-key.pem", "other-ca.pem"} <= set(
        info["certificates"]["files"]
    )
    assert info["certificates_removed"] is True
    assert set(info["refused"]) == {"no_certificate", "other_ca"}
    assert out["metrics"]["sidecar_keep_h1_s"]["values"][0] > 0
    assert list(tmp_path.iterdir()) == []
    assert processes_with(f"TMPDIR={tmp_path}") == []


def test_a_service_dying_mid_chain_is_named_and_nothing_is_left(tmp_path: Path, go_binary: str):
    args = ["--runtime", "go", "--go-binary", go_binary, "--hops", "3", "--kill", "r2"]
    done = run_isolated(tmp_path, "hops.py", *args, "--probe-duration", "0.05")
    assert done.returncode != 0
    first = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    assert "service r2" in done.stderr and "mid-chain" in done.stderr, done.stderr
    assert "hops:" in done.stderr, first
    assert processes_with(f"TMPDIR={tmp_path}") == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("victim", ["r1", "sidecar-r1"])
def test_a_service_or_sidecar_dying_is_named_and_no_process_or_certificate_is_left(
    tmp_path: Path, go_binary: str, victim: str
):
    args = ["--part", "sidecar", "--go-binary", go_binary, "--hops", "1", "--kill", victim]
    done = run_isolated(tmp_path, "tls.py", *args, "--probe-duration", "0.05", "--warmup", "3")
    assert done.returncode != 0 and done.stdout == ""
    assert f"tls: service {victim}:" in done.stderr and "mid-chain" in done.stderr, done.stderr
    # 边车（nginx 的 master 与 worker）、Go 服务都停了；证书目录与各服务的目录都删了
    assert processes_with(f"TMPDIR={tmp_path}") == []
    assert list(tmp_path.iterdir()) == []


def test_a_missing_proxy_names_its_package(monkeypatch):
    monkeypatch.setattr(tls_driver.shutil, "which", lambda name: None)
    monkeypatch.setattr(tls_driver.os, "access", lambda path, mode: False)
    with pytest.raises(PerflabError, match=r"nginx not found .*Debian package: nginx"):
        tls_driver.require_nginx()


def test_a_missing_jdk_names_its_package(monkeypatch):
    monkeypatch.setattr(maven.shutil, "which", lambda name: None)
    with pytest.raises(PerflabError, match=r"java \(Debian package openjdk-17-jdk-headless\)"):
        limits_driver.jvm_max_heap([], [])


def test_unknown_runtime_and_missing_jar_are_one_line_errors(go_binary: str):
    for script, args, words in (
        ("instances.py", ["--runtime", "django", "--go-binary", go_binary], "invalid choice"),
        ("instances.py", ["--runtime", "spring", "--go-binary", go_binary], "needs --jar"),
        ("hops.py", ["--runtime", "spring", "--go-binary", go_binary], "needs --jar"),
        ("hops.py", ["--runtime", "spring", "--go-binary", go_binary, "--jar", go_binary],
         "always reuses"),
    ):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, str(HERE / script), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode != 0 and words in proc.stderr, (script, args, proc.stderr)


# 本次 quick 档构建的结果里必须成立的关系


def test_the_jvm_default_heap_is_a_quarter_of_the_memory_it_sees(built_site: Path):
    m = measured(built_site, "ch4.microservices.heap")
    for mib in (512, 1024, 2048, 4096):
        # JVM 的默认值：MaxRAMPercentage = 25，再按对齐取整
        assert m[f"jvm.heap_m{mib}_B"] == pytest.approx(mib * MiB / 4, rel=0.02), mib
    assert m["jvm.heap_none_B"] == pytest.approx(m["jvm.seen_none_B"] / 4, rel=0.05)


def test_instances_answered_right_and_the_running_jvm_reports_that_default(built_site: Path):
    m = measured(built_site, "ch4.microservices.instances")
    heap = measured(built_site, "ch4.microservices.heap")
    # 运行中的 Spring Boot 报告的堆上限 = -XX:+PrintFlagsFinal 的默认值（同一台机器、不设上限）
    assert m["spring.heap_max_B"] == pytest.approx(heap["jvm.heap_none_B"], rel=0.05)
    assert (
        m["spring.loaded_heap_used_B"]
        <= m["spring.loaded_heap_committed_B"]
        <= m["spring.heap_max_B"]
    )
    # 一个 JVM 进程比一个 Go 进程大得多；USS 不超过 RSS
    assert m["spring.loaded_rss_B"] > 2 * m["go.loaded_rss_B"]
    for run in ("fastapi", "flask", "go", "spring"):
        assert m[f"{run}.loaded_uss_B"] <= m[f"{run}.loaded_rss_B"]
    # Go 运行时报告的堆：在用的不超过向系统申请的
    for when in ("idle", "loaded"):
        assert 0 < m[f"go.{when}_heap_inuse_B"] <= m[f"go.{when}_heap_sys_B"], when
    runs = experiment(built_site, "ch4.microservices.instances")
    assert runs["metrics"], "no metrics exported"


def test_new_connections_and_full_handshakes_cost_more_than_reuse(built_site: Path):
    hops = measured(built_site, "ch4.microservices.hops")
    assert hops["go.hop_new_s"] > hops["go.hop_reuse_s"]
    tls = measured(built_site, "ch4.microservices.tls")
    assert tls["direct.mtls_new_hop_s"] > tls["direct.mtls_reuse_hop_s"]
    assert tls["sidecar.sidecar_new_hop_s"] > tls["sidecar.sidecar_keep_hop_s"]


def test_limits_what_each_runtime_sees_and_gomemlimit(built_site: Path):
    m = measured(built_site, "ch4.microservices.limits")
    if m["instances.cgroup_available"] == 0:
        pytest.skip("this machine cannot create a cgroup (the page says so)")
    # JVM 读 CPU 配额（0.5 个 → 1 个）；Python 只看机器
    assert m["instances.spring_cpus_seen"] == 1
    assert m["instances.fastapi_cpus_seen"] == os.cpu_count()
    # 存活数据超过内存上限的一半：不设 GOMEMLIMIT 被杀，设了活下来
    assert m["gomem.default_survived"] == 0 and m["gomem.memlimit_survived"] == 1
