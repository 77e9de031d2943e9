"""Section 3.2: the listings show add inlined by Go and gcc but called by CPython; the three
languages compute the same checksums; the whole-process figures have the agreed shape; and the
quick build keeps the relations the page relies on (compiled kernels and starts are faster)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from book_helpers import ROOT, measured, run_example

from perflab import gobuild, native

SMALL = ["--loop-n", "5000", "--nbody-steps", "50", "--words-n", "2000", "--vocab", "300"]
KERNELS = ("loop", "nbody", "words")


@pytest.fixture(scope="module")
def binaries() -> dict[str, str]:
    """The programs as the engine builds them (cached by source hash)."""
    go = ROOT / "go-examples/ch3/compiled"
    return {
        "go": str(gobuild.build(go, "test")),
        "go_hello": str(gobuild.build(go / "hello", "test")),
        "c": str(native.c_binary(ROOT / "examples/ch3/compiled_kernels.c", "test")),
        "c_hello": str(native.c_binary(ROOT / "examples/ch3/hello.c", "test")),
        "peak_rss": str(native.c_binary(ROOT / "examples/ch3/peak_rss.c", "test")),
    }


def run_json(cmd: list[str]) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_listings_show_inlining_in_compiled_code_and_a_call_in_bytecode():
    out = run_example("examples/ch3/compiled_listings.py", timeout=120)
    m = {k: v["values"][0] for k, v in out["metrics"].items()}
    assert m["go_loop_calls"] == 0 and m["c_loop_calls"] == 0
    assert m["python_loop_calls"] >= 1
    # add 本身：一条加法一条返回；字节码多几条
    assert m["go_add_instructions"] <= 3 and m["c_add_instructions"] <= 3
    assert m["python_add_instructions"] > m["go_add_instructions"]
    info = out["info"]
    assert "inlining call to add" in info["go_inlining"]
    listings = info["listings"]
    assert any(" ADD" in ln for ln in listings["go"]["add"])  # amd64 的 ADDQ、arm64 的 ADD
    assert any(ln.startswith(("lea", "add")) for ln in listings["c"]["add"])
    assert any("BINARY_OP" in ln or "BINARY_ADD" in ln for ln in listings["python"]["add"])


def test_three_languages_compute_the_same_checksums(binaries):
    py = run_example(
        "examples/ch3/compiled_kernels.py", *SMALL, "--rounds", "1", "--min-time", "0.001"
    )
    go_args = [s.replace("--", "-", 1) for s in SMALL]
    go = run_json([binaries["go"], *go_args, "-count", "1", "-benchtime", "1ms"])
    c = run_json([binaries["c"], *SMALL, "--rounds", "1", "--min-time", "0.001"])
    for out in (py, go, c):
        assert set(out["metrics"]) == {f"{k}_s" for k in KERNELS}
        assert all(v > 0 for m in out["metrics"].values() for v in m["values"])
    sums = [out["info"]["checksums"] for out in (py, go, c)]
    for key in ("loop", "words"):
        assert sums[0][key] == sums[1][key] == sums[2][key], key
    # 浮点：ARM64 上 Go 会合成 FMA，只要求相对误差很小
    energies = [float(s["nbody"]) for s in sums]
    assert max(energies) - min(energies) <= 1e-9 * abs(energies[0]), energies
    assert py["info"]["checksums"]["loop"] == sum(i % 7 for i in range(5000))


@pytest.mark.parametrize("kernel", KERNELS)
def test_once_runs_report_only_their_kernel(binaries, kernel):
    py = run_example("examples/ch3/compiled_kernels.py", *SMALL, "--once", kernel)
    c = run_json([binaries["c"], *SMALL, "--once", kernel])
    for out in (py, c):
        assert set(out["metrics"]) == {"peak_rss_B"}
        assert set(out["info"]["checksums"]) == {kernel}


def test_peak_rss_reads_the_child_not_the_parent(binaries):
    small = run_json([binaries["peak_rss"], binaries["c_hello"]])["peak_rss_B"]
    big = run_json(
        [
            binaries["peak_rss"],
            sys.executable,
            "-c",
            "b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096])",
        ]
    )["peak_rss_B"]
    # C 的 hello world 只有一两 MiB：从十几 MiB 的 Python 进程直接 fork 出来就读不到这么小的数
    assert 0 < small < 4 << 20
    assert big > 64 << 20
    failed = subprocess.run([binaries["peak_rss"], "false"], capture_output=True, text=True)
    assert failed.returncode != 0 and "did not exit cleanly" in failed.stderr


def test_table_driver_shape(binaries):
    out = run_example(
        "examples/ch3/compiled_table.py",
        "--go-hello", binaries["go_hello"], "--c-hello", binaries["c_hello"],
        "--go-kernels", binaries["go"], "--c-kernels", binaries["c"],
        "--peak-rss", binaries["peak_rss"], "--runs", "3", "--warmup", "0", "--rss-repeats", "1",
        *SMALL,
    )  # fmt: skip
    metrics = out["metrics"]
    langs = ("go", "c", "python")
    expected = {f"{x}_start_s" for x in (*langs, "python_bare")}
    expected |= {f"{x}_hello_rss_B" for x in (*langs, "python_bare")}
    expected |= {f"{x}_{k}_rss_B" for x in langs for k in KERNELS}
    assert set(metrics) == expected
    assert len(metrics["go_start_s"]["values"]) == 3
    assert out["info"]["cache"] == "热缓存"


def test_compiled_kernels_beat_cpython(built_site):
    m = measured(built_site, "ch3.compiled.kernels")
    for k in KERNELS:
        assert m[f"python.vs_go_{k}"] > 1, k
        assert m[f"python.vs_c_{k}"] > 1, k
    # 解释器开销最重的内核，差距比 C 写的内置类型撑着的词频统计大
    assert m["python.vs_go_loop"] > m["python.vs_go_words"]
    assert m["python.vs_go_nbody"] > m["python.vs_go_words"]


def test_compiled_processes_start_faster_and_use_less_memory(built_site):
    m = measured(built_site, "ch3.compiled.table")
    assert m["table.go_start_s"] < m["table.python_start_s"]
    assert m["table.c_start_s"] < m["table.python_start_s"]
    # 不加载 site 的解释器启动不会比加载 site 的慢
    assert m["table.python_bare_start_s"] < m["table.python_start_s"] * 1.2
    assert m["table.c_hello_rss_B"] < m["table.go_hello_rss_B"] < m["table.python_hello_rss_B"]
