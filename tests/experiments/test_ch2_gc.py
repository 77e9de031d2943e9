"""第二章 · 垃圾回收与延迟：示例输出的形状、GC 日志解析、quick 构建结果里必须成立的关系。"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from book_helpers import measured, run_example_process
from conftest import ROOT

from perflab import cache, measure, registry, toolchain
from perflab.runner import parse_output

GC_JVM = ROOT / "examples/ch2/gc_jvm.py"
GC_PYTHON = ROOT / "examples/ch2/gc_python.py"


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gc_jvm = load_module(GC_JVM)


# ---------------------------------------------------------------- GC 日志解析（样例行为手写）

SERIAL_LOG = """\
[0.003s][info][gc,init] Heap Max Capacity: 256M
[0.208s][info][gc,start    ] GC(0) Pause Young (Allocation Failure)
[0.248s][info][gc,heap     ] GC(0) DefNew: 69952K(78656K)->8704K(78656K)
[0.248s][info][gc          ] GC(0) Pause Young (Allocation Failure) 67M->61M(247M) 40.220ms
[0.532s][info][gc,start       ] GC(5) Pause Full (Allocation Failure)
[0.555s][info][gc,phases      ] GC(5) Phase 1: Mark live objects 22.537ms
[0.588s][info][gc             ] GC(5) Pause Full (Allocation Failure) 182M->102M(247M) 55.972ms
[0.588s][info][gc,cpu         ] GC(5) User=0.05s Sys=0.00s Real=0.06s
"""

G1_LOG = """\
[0.010s][info][gc,init] Heap Max Capacity: 1G
[1.420s][info][gc          ] GC(10) Pause Remark 191M->191M(256M) 0.641ms
[1.479s][info][gc          ] GC(10) Pause Cleanup 211M->211M(256M) 0.116ms
[1.481s][info][gc          ] GC(10) Concurrent Mark Cycle 242.159ms
[1.500s][info][gc,phases   ] GC(11)   Evacuate Collection Set: 2.0ms
[1.502s][info][gc          ] GC(11) Pause Young (Normal) (G1 Evacuation Pause) 24M->3M(256M) 3.456ms
[2.100s][info][gc          ] GC(12) Pause Full (G1 Compaction Pause) 250M->120M(256M) 210.500ms
"""

ZGC_LOG = """\
[0.012s][info][gc,init] Max Capacity: 256M
[1.197s][info][gc          ] Allocation Stall (Thread-1) 39.189ms
[1.544s][info][gc,start    ] GC(5) Garbage Collection (Allocation Stall)
[1.544s][info][gc,phases   ] GC(5) Pause Mark Start 0.006ms
[1.679s][info][gc,phases   ] GC(5) Concurrent Mark 135.355ms
[1.680s][info][gc,phases   ] GC(5) Pause Mark End 0.017ms
[1.681s][info][gc,phases   ] GC(5) Pause Relocate Start 0.005ms
[1.700s][info][gc          ] Allocation Stall (Thread-0) 0.272ms
[1.803s][info][gc          ] GC(5) Garbage Collection (Allocation Stall) 256M(100%)->232M(91%)
"""


def test_parse_serial_pauses_and_heap():
    log = gc_jvm.parse_gc_log(SERIAL_LOG)
    assert log["pauses"] == [
        ("Pause Young (Allocation Failure)", pytest.approx(0.040220)),
        ("Pause Full (Allocation Failure)", pytest.approx(0.055972)),
    ]
    assert log["stalls"] == []
    assert log["heap_max_B"] == 256 * 2**20


def test_parse_g1_counts_every_pause_kind_but_not_concurrent_phases():
    log = gc_jvm.parse_gc_log(G1_LOG)
    kinds = [k for k, _ in log["pauses"]]
    assert kinds == [
        "Pause Remark",
        "Pause Cleanup",
        "Pause Young (Normal) (G1 Evacuation Pause)",
        "Pause Full (G1 Compaction Pause)",
    ]
    assert max(s for _, s in log["pauses"]) == pytest.approx(0.2105)
    assert log["heap_max_B"] == 2**30


def test_parse_zgc_phase_pauses_and_allocation_stalls():
    log = gc_jvm.parse_gc_log(ZGC_LOG)
    assert [k for k, _ in log["pauses"]] == [
        "Pause Mark Start",
        "Pause Mark End",
        "Pause Relocate Start",
    ]
    assert sum(s for _, s in log["pauses"]) == pytest.approx(0.000028)
    assert log["stalls"] == [("Thread-1", pytest.approx(0.039189)), ("Thread-0", 0.000272)]
    assert log["heap_max_B"] == 256 * 2**20


def test_parse_keeps_only_the_timed_window_and_clips_to_it():
    # 计时段 [1.18 s, 1.69 s]：第一次分配停顿从 1.158 s 开始，只有 22 ms 落在段内；
    # 1.700 s 结束的那次在段外
    log = gc_jvm.parse_gc_log(ZGC_LOG, start=1.18, end=1.69)
    assert log["stalls"] == [("Thread-1", pytest.approx(0.017, abs=1e-6))]
    assert len(log["pauses"]) == 3
    serial = gc_jvm.parse_gc_log(SERIAL_LOG, start=0.3, end=1.0)
    assert [k for k, _ in serial["pauses"]] == ["Pause Full (Allocation Failure)"]
    assert gc_jvm.parse_gc_log(SERIAL_LOG, start=0.6, end=1.0)["pauses"] == []


def test_percentile_is_nearest_rank():
    values = [float(i) for i in range(1, 101)]
    assert gc_jvm.percentile(values, 0.5) == 50.0
    assert gc_jvm.percentile(values, 0.99) == 99.0
    assert gc_jvm.percentile(values, 1.0) == 100.0
    assert gc_jvm.percentile([7.0], 0.99) == 7.0


FLAGS_FINAL = """\
[Global flags]
    uintx GCPauseIntervalMillis               = 201          {product} {default}
    uintx MaxGCPauseMillis               = 50          {product} {command line}
     bool UseG1GC               = true          {product} {command line}
   size_t G1HeapRegionSize               = 4194304          {product} {ergonomic}
"""


def test_flag_line_parser_reads_value_and_origin():
    found = {
        m["name"]: (m["value"], m["origin"])
        for line in FLAGS_FINAL.splitlines()
        if (m := gc_jvm.FLAG_LINE.match(line))
    }
    assert found["MaxGCPauseMillis"] == ("50", "command line")
    assert found["G1HeapRegionSize"] == ("4194304", "ergonomic")
    assert "Global" not in "".join(found)


def test_heap_is_the_same_multiple_of_the_live_data_at_every_point():
    heaps = {live: gc_jvm.heap_mib_for(live, 2.0, 16) for live in (32, 128, 512)}
    assert heaps == {32: 80, 128: 272, 512: 1040}
    # 余量（堆减常驻）随常驻数据同比例增长
    assert [h - live for live, h in heaps.items()] == [48, 144, 528]


# ---------------------------------------------------------------- 示例的输出形状（小尺寸）


def test_python_example_shape():
    proc = run_example_process(
        GC_PYTHON, "--requests", "3000", "--cache", "300", "--modes", "on,off"
    )
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout, "gc_python")
    metrics = out["metrics"]
    for mode in ("on", "off"):
        for name in ("req_p50_s", "req_p99_s", "req_p999_s", "req_max_s"):
            assert metrics[f"{mode}_{name}"]["unit"] == "s"
        values = [metrics[f"{mode}_req_{q}_s"]["values"][0] for q in ("p50", "p99", "p999", "max")]
        assert values == sorted(values) and values[0] > 0
        assert metrics[f"{mode}_peak_rss_B"]["unit"] == "B"
    # 开启时三代都有回收次数，至少第 0 代有停顿分布；关闭时没有任何停顿指标
    assert all(f"on_gen{g}_count" in metrics for g in range(3))
    assert metrics["on_gen0_count"]["values"][0] > 0
    assert {"on_gen0_p50_s", "on_gen0_p99_s", "on_gen0_max_s"} <= set(metrics)
    assert not any(k.startswith("off_gen") for k in metrics)
    assert out["info"]["requests"] == 3000
    assert out["info"]["modes"]["off"]["frozen_objects"] == 0


def test_python_example_freeze_and_threshold_take_effect():
    proc = run_example_process(
        GC_PYTHON, "--requests", "2000", "--cache", "200", "--modes", "freeze,threshold"
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)["info"]
    assert info["modes"]["freeze"]["frozen_objects"] > 0
    assert info["modes"]["threshold"]["threshold"] == info["raised_threshold"]


def test_python_example_rejects_bad_arguments():
    proc = run_example_process(GC_PYTHON, "--requests", "10")
    assert proc.returncode != 0 and proc.stdout == ""


@pytest.fixture(scope="module")
def go_gc_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("gobin") / "gc"
    proc = subprocess.run(
        [toolchain.require_go(), "build", "-o", str(binary), "./ch2/gc"],
        cwd=ROOT / "go-examples",
        env=toolchain.go_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return binary


def test_go_example_shape(go_gc_binary: Path):
    proc = subprocess.run(
        [str(go_gc_binary), "-requests", "30000", "-cache", "500", "-memlimit", str(16 << 20)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    metrics = out["metrics"]
    for mode in ("default", "memlimit"):
        for name in ("req_p99_s", "req_max_s", "pause_max_s"):
            assert metrics[f"{mode}_{name}"]["unit"] == "s"
        assert metrics[f"{mode}_gc_cycles"]["unit"] == ""
        assert metrics[f"{mode}_peak_rss_B"]["unit"] == "B"
    assert metrics["default_pause_count"]["values"][0] > 0
    assert (
        metrics["default_pause_p50_s"]["values"][0] <= metrics["default_pause_max_s"]["values"][0]
    )
    modes = out["info"]["modes"]
    assert modes["default"]["gc_percent"] == 100
    assert modes["memlimit"]["gc_percent"] == -1
    assert modes["memlimit"]["memory_limit_B"] == 16 << 20
    assert 0 < modes["default"]["pause_bucket_width_ratio"] <= 1


TINY_JVM = (
    *("--live-mib", "8,16", "--detail-live", "8", "--collectors", "serial,zgc"),
    *("--turnover", "0.1", "--warmup", "0.05", "--min-seconds", "0.05"),
)


def test_jvm_example_shape():
    proc = run_example_process(GC_JVM, *TINY_JVM)
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout, "gc_jvm")
    metrics = out["metrics"]
    # 每个常驻数据量上都有停顿最大值与最长请求；其余指标只在 --detail-live 那个点上
    for c in ("serial", "zgc"):
        for live in (8, 16):
            assert metrics[f"{c}_live{live}_pause_max_s"]["unit"] == "s"
            assert metrics[f"{c}_live{live}_req_max_s"]["unit"] == "s"
        assert metrics[f"{c}_live8_throughput"]["values"][0] > 0
        assert metrics[f"{c}_live8_pause_count"]["unit"] == ""
        assert f"{c}_live16_throughput" not in metrics
    assert {"zgc_live8_stall_count", "zgc_live8_stall_total_s", "zgc_live8_stall_max_s"} <= set(
        metrics
    )
    assert not any("stall" in k for k in metrics if k.startswith("serial"))
    # 一个进程一个值：引擎按进程取中位数，n 就是进程数
    assert all(len(m["values"]) == 1 for m in metrics.values())
    info = out["info"]
    assert info["heap_mib"] == {"8": 32, "16": 48}
    assert set(info["points"]) == {"serial", "zgc"}
    for c, points in info["points"].items():
        for live, point in points.items():
            assert point["heap_max_B"] == info["heap_mib"][live] * 2**20, (c, live)
            # 计时段里至少完整做完一轮回收（多 2 次），且换血量够了
            assert point["window_gc_bean_counts"] >= 2, (c, live)
            assert point["window_pauses"] >= 1, (c, live)
            assert metrics[f"{c}_live{live}_pause_max_s"]["values"][0] > 0, (c, live)
            assert point["turnover_reached"], (c, live)
    assert info["java"]


def java_reported_max_gc_pause_millis() -> int:
    """What the JVM itself says, read here independently of the example's parser."""
    proc = subprocess.run(
        ["java", "-XX:+UseG1GC", "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if re.search(r"\bMaxGCPauseMillis\b", ln)]
    return int(line.split("=")[1].split()[0])


def test_g1_pause_target_metric_is_what_the_jvm_reports():
    proc = run_example_process(
        GC_JVM,
        *("--live-mib", "8", "--detail-live", "8", "--collectors", "g1"),
        *("--turnover", "0.05", "--warmup", "0", "--min-seconds", "0"),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    target = out["metrics"]["g1_max_pause_target_s"]
    assert target["unit"] == "s"
    assert target["values"] == [java_reported_max_gc_pause_millis() / 1e3]
    assert out["info"]["g1_max_gc_pause_millis"]["value"] == str(
        java_reported_max_gc_pause_millis()
    )


def test_jvm_example_rejects_a_detail_point_outside_the_sweep():
    proc = run_example_process(GC_JVM, "--live-mib", "8,16", "--detail-live", "32")
    assert proc.returncode != 0 and proc.stdout == ""


def test_jvm_source_and_java_version_are_in_the_cache_key():
    # Java 源码或 JDK 变了，旧结果就不能再用
    exp = registry.get(registry.load(), "ch2.gc.jvm")
    material = cache.key_material(exp, "quick")
    assert "examples/ch2/jvm/GcLoad.java" in material["sources"]
    assert material["tools"]["java"] not in ("not found", "unknown")


def test_jvm_example_without_java_fails_with_a_clear_message(tmp_path: Path):
    # PATH 只指向一个空目录：找不到 java（解释器用绝对路径启动，不受影响）
    assert shutil.which("java", path=str(tmp_path)) is None
    env = {**os.environ, "PATH": str(tmp_path)}
    proc = run_example_process(GC_JVM, "--live-mib", "8", "--detail-live", "8", env=env)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "missing tool: java" in proc.stderr


# ---------------------------------------------------------------- quick 构建结果里的关系


@pytest.fixture(scope="module")
def jvm_quick():
    """ch2.gc.jvm 的 quick 档结果（与 quick 构建共用缓存；没有就现测，约半分钟）。"""
    exp = registry.get(registry.load(), "ch2.gc.jvm")
    result = measure.obtain(exp, "quick")
    return {key: m.summary.median for key, m in result.metrics.items()}


def test_jvm_quick_result_reports_the_default_pause_target(jvm_quick):
    assert jvm_quick["JVM.g1_max_pause_target_s"] == java_reported_max_gc_pause_millis() / 1e3


def test_serial_max_pause_grows_with_the_live_heap(jvm_quick):
    # 最小与最大的常驻数据量相差 16 倍：整堆回收要处理的存活对象多 16 倍
    sizes = sorted(
        int(m["live"])
        for k in jvm_quick
        if (m := re.fullmatch(r"JVM\.serial_live(?P<live>\d+)_pause_max_s", k))
    )
    assert len(sizes) >= 3
    smallest = jvm_quick[f"JVM.serial_live{sizes[0]}_pause_max_s"]
    largest = jvm_quick[f"JVM.serial_live{sizes[-1]}_pause_max_s"]
    assert largest > smallest > 0


def test_zgc_pauses_stay_below_serial_at_the_largest_live_heap(jvm_quick):
    assert (
        0 < jvm_quick["JVM.zgc_live512_pause_max_s"] < jvm_quick["JVM.serial_live512_pause_max_s"]
    )


def test_go_reports_gc_pauses(built_site: Path):
    m = measured(built_site, "ch2.gc.go")
    assert m["go.default_pause_count"] > 0
    assert m["go.default_gc_cycles"] > 0


def test_python_full_collections_happen_with_gc_enabled(built_site: Path):
    m = measured(built_site, "ch2.gc.python")
    assert m["python.on_gen2_count"] > 0
    assert m["python.on_gen2_max_s"] > 0
    assert "python.off_gen2_count" not in m
