"""第二章 · 垃圾回收与延迟（JVM）：四种收集器，在一组常驻数据量上各跑一次，读 GC 日志。

驱动 examples/ch2/jvm/GcLoad.java：对每个常驻数据量（默认 32、128、512 MiB），
用 -XX:+UseSerialGC / UseParallelGC / UseG1GC / UseZGC 各启动一次 JVM，
堆固定为常驻数据的固定倍数（-Xms = -Xmx = 2 × 常驻 + 16 MiB），用 -Xlog:gc*:file=… 写 GC 日志，
再从日志里读出计时段内每次停顿（Pause …）与 ZGC 的分配停顿（Allocation Stall）。
计时段按“换血量”结束：缓存里被替换的条目达到常驻条目的 --turnover 倍，不短于 --min-seconds，
且段内至少完整做完一轮回收；常驻数据越多，计时段越长。
吞吐与请求耗时由 Java 程序自己统计。
另外读一次 G1 的 MaxGCPauseMillis 实际生效值（-XX:+PrintFlagsFinal）。

需要 JDK（java；有 javac 时先编译一次并缓存，否则用 java 的单文件源码启动）。
单独运行：python examples/ch2/gc_jvm.py --live-mib 32,128 --collectors serial,zgc
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "jvm" / "GcLoad.java"
ROOT = HERE.parents[1]

COLLECTORS = {
    "serial": ("-XX:+UseSerialGC", "Serial"),
    "parallel": ("-XX:+UseParallelGC", "Parallel"),
    "g1": ("-XX:+UseG1GC", "G1"),
    "zgc": ("-XX:+UseZGC", "ZGC"),
}

# --8<-- [start:parse]
# 统一日志格式（JDK 9+），一次停顿一行：
#   [0.532s][info][gc] GC(5) Pause Full (Allocation Failure) 182M->102M(247M) 55.972ms
# ZGC 的停顿在 gc,phases 标签下，一轮 GC 三次：GC(3) Pause Mark Start 0.011ms
LINE = re.compile(
    r"^\[(?P<uptime>\d+(?:\.\d+)?)s\](?:\[[^\]]*\])*?\[(?P<tags>gc[a-z,]*)\s*\]\s(?P<msg>.*)$"
)
PAUSE = re.compile(r"^GC\(\d+\) (?P<kind>Pause .*?)(?: \S+->\S+)? (?P<ms>\d+(?:\.\d+)?)ms$")
STALL = re.compile(r"^Allocation Stall \((?P<thread>[^)]*)\) (?P<ms>\d+(?:\.\d+)?)ms$")
HEAP_MAX = re.compile(r"^(?:Heap )?Max Capacity: (?P<size>\d+)(?P<unit>[KMG])$")
SIZE_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}


def parse_gc_log(text: str, start: float = 0.0, end: float = float("inf")) -> dict:
    """停顿与分配停顿（秒）及堆上限（字节）。

    日志行的时间戳是事件结束的时刻；只保留与计时段 [start, end] 重叠的事件，
    并把时长截到计时段以内（时间戳只精确到毫秒，截取同样只精确到毫秒）。
    """
    pauses: list[tuple[str, float]] = []
    stalls: list[tuple[str, float]] = []
    heap_max = None
    for line in text.splitlines():
        m = LINE.match(line.rstrip())
        if not m:
            continue
        uptime, tags, msg = float(m["uptime"]), m["tags"], m["msg"]
        if tags == "gc,init" and (h := HEAP_MAX.match(msg)):
            heap_max = int(h["size"]) * SIZE_UNITS[h["unit"]]
            continue
        if tags in ("gc", "gc,phases") and (p := PAUSE.match(msg)):
            found, name = pauses, p["kind"]
        elif tags == "gc" and (p := STALL.match(msg)):
            found, name = stalls, p["thread"]
        else:
            continue
        took = float(p["ms"]) / 1e3
        inside = min(uptime, end) - max(uptime - took, start)
        if inside > 0 or (took == 0 and start <= uptime <= end):
            found.append((name, min(took, max(inside, 0.0))))
    return {"pauses": pauses, "stalls": stalls, "heap_max_B": heap_max}


# --8<-- [end:parse]


def percentile(sorted_values: list[float], q: float) -> float:
    """最近秩法：不插值，结果总是一个真实出现过的样本。"""
    rank = max(int(-(-q * len(sorted_values) // 1)), 1)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        sys.exit(
            "gc_jvm: missing tool: java (JDK 17+) not found on PATH; "
            "运行 `make setup` 安装依赖（Debian: apt-get install openjdk-17-jdk-headless）"
        )
    return java


def cache_dir() -> Path:
    return Path(os.environ.get("PERFLAB_CACHE_DIR") or ROOT / ".perflab-cache")


def launch_command(java: str) -> list[str]:
    """有 javac 就按源码哈希编译一次、缓存 class 文件；否则交给 java 的单文件源码启动。"""
    javac = shutil.which("javac")
    if javac is None:
        return [java, str(SOURCE)]
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    classes = cache_dir() / "java" / f"GcLoad-{digest}"
    if not (classes / "GcLoad.class").is_file():
        classes.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="GcLoad-", dir=classes.parent))
        proc = subprocess.run(
            [javac, "-d", str(tmp), str(SOURCE)], capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            sys.exit("gc_jvm: javac failed")
        try:
            tmp.rename(classes)
        except OSError:  # 另一个进程已经放好了同样的结果
            shutil.rmtree(tmp, ignore_errors=True)
    return [java, "-cp", str(classes), "GcLoad"]


# --8<-- [start:flags]
def heap_mib_for(live_mib: int, factor: float, margin_mib: int) -> int:
    """堆随常驻数据按同一比例放大：每个点上，收集器手里的余量占比相同。"""
    return round(factor * live_mib) + margin_mib


def jvm_flags(collector: str, heap_mib: int, log_file: Path) -> list[str]:
    flag, _ = COLLECTORS[collector]
    return [
        flag,
        f"-Xms{heap_mib}m",  # 堆固定大小，不随负载伸缩
        f"-Xmx{heap_mib}m",
        f"-Xlog:gc*:file={log_file}",  # 统一日志：停顿、阶段、分配停顿都在里面
        "-XX:-UsePerfData",  # 不在 /tmp 留 hsperfdata 文件
    ]


# --8<-- [end:flags]

# --8<-- [start:default]
# 默认值问 JVM 本身：-XX:+PrintFlagsFinal 列出每个参数最终生效的值和来历，例如
#     uintx MaxGCPauseMillis                         = 200       {product} {default}
FLAG_LINE = re.compile(
    r"^\s*\S+\s+(?P<name>\w+)\s+:?=\s+(?P<value>\S+)\s+\{[^}]*\}\s*(?:\{(?P<origin>[^}]*)\})?"
)


def final_flags(java: str, *flags: str) -> dict[str, tuple[str, str]]:
    """参数名 → (生效值, 来历)；来历如 default、command line、ergonomic。"""
    proc = subprocess.run(
        [java, *flags, "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
        sys.exit("gc_jvm: java -XX:+PrintFlagsFinal -version failed")
    found = {}
    for line in proc.stdout.splitlines():
        if m := FLAG_LINE.match(line):
            found[m["name"]] = (m["value"], m["origin"] or "")
    return found


# --8<-- [end:default]


def run_collector(
    launch: list[str], collector: str, live_mib: int, args: argparse.Namespace, workdir: Path
) -> dict:
    heap_mib = heap_mib_for(live_mib, args.heap_factor, args.heap_margin_mib)
    log_file = workdir / f"{collector}-{live_mib}.log"
    cmd = [
        launch[0],
        *jvm_flags(collector, heap_mib, log_file),
        *launch[1:],
        f"{args.warmup}",
        f"{args.turnover}",
        f"{args.min_seconds}",
        str(live_mib),
        str(args.threads),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
        sys.exit(
            f"gc_jvm: java with {collector} at {live_mib} MiB live "
            f"exited with status {proc.returncode}"
        )
    out = json.loads(proc.stdout)
    log = parse_gc_log(
        log_file.read_text(encoding="utf-8", errors="replace"),
        out["window_start_s"],
        out["window_end_s"],
    )
    log_file.unlink()
    return {"java": out, "log": log, "heap_mib": heap_mib}


# 每个常驻数据量上都报：停顿最大值、应用线程看到的最长请求；
# 其余指标只在一个点（--detail-live）上报，免得表格爆炸
SWEPT = {
    "pause_max_s": ("停顿最大值", "s"),
    "req_max_s": ("最长请求耗时", "s"),
}
DETAIL = {
    "pause_p50_s": ("停顿 p50", "s"),
    "pause_count": ("停顿次数", ""),
    "req_p99_s": ("请求耗时 p99", "s"),
    "throughput": ("吞吐（请求/秒）", ""),
    "stall_count": ("分配停顿次数", ""),
    "stall_total_s": ("分配停顿累计（各线程之和）", "s"),
    "stall_max_s": ("分配停顿最大值", "s"),
}
METRIC_LABELS = {**SWEPT, **DETAIL}


def summarize(collector: str, raw: dict) -> dict[str, float]:
    out = raw["java"]
    pauses = sorted(seconds for _, seconds in raw["log"]["pauses"])
    if not pauses:
        # 没有停顿就没有“最大停顿”可报：记 0 会让“停顿 < 1 ms”不测而过
        sys.exit(
            f"gc_jvm: {collector}, {out['live_mib']} MiB: no GC pause logged in the timed window "
            f"({out['window_gcs']} collections counted); lengthen --min-seconds or --turnover"
        )
    values = {
        "pause_max_s": pauses[-1],
        "pause_p50_s": percentile(pauses, 0.50),
        "pause_count": float(len(pauses)),
        "req_p99_s": out["req_p99_s"],
        "req_max_s": out["req_max_s"],
        "throughput": out["ops"] / out["seconds"],
    }
    if collector == "zgc":
        # 只有 ZGC 把“线程等内存”单独记成 Allocation Stall；其余收集器的等待就是停顿本身
        stalls = [seconds for _, seconds in raw["log"]["stalls"]]
        values["stall_count"] = float(len(stalls))
        values["stall_total_s"] = sum(stalls)
        values["stall_max_s"] = max(stalls, default=0.0)
    return values


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1 or len(set(sizes)) != len(sizes):
        raise argparse.ArgumentTypeError("need distinct positive sizes in MiB, e.g. 32,128,512")
    return sorted(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--live-mib", type=parse_sizes, default=[32, 128, 512], help="常驻数据量（MiB），逗号分隔"
    )
    parser.add_argument("--heap-factor", type=float, default=2.0, help="堆 = 倍数 × 常驻 + 余量")
    parser.add_argument("--heap-margin-mib", type=int, default=16, help="堆的固定余量（MiB）")
    parser.add_argument(
        "--detail-live", type=int, default=128, help="在哪个常驻数据量上报全部指标（MiB）"
    )
    parser.add_argument("--warmup", type=float, default=0.2, help="计时前的预热秒数（JIT）")
    parser.add_argument(
        "--turnover", type=float, default=0.25, help="计时段内替换的条目占常驻条目的倍数"
    )
    parser.add_argument("--min-seconds", type=float, default=0.2, help="计时段至少多少秒")
    parser.add_argument("--threads", type=int, default=2, help="分配线程数")
    parser.add_argument(
        "--collectors", default=",".join(COLLECTORS), help="逗号分隔：" + ",".join(COLLECTORS)
    )
    args = parser.parse_args()
    collectors = [c for c in args.collectors.split(",") if c]
    if (
        not collectors
        or set(collectors) - set(COLLECTORS)
        or len(set(collectors)) != len(collectors)
    ):
        parser.error(f"--collectors must be a subset of {','.join(COLLECTORS)}")
    if args.turnover <= 0 or args.warmup < 0 or args.min_seconds < 0 or args.threads < 1:
        parser.error("need --turnover > 0, --warmup >= 0, --min-seconds >= 0, --threads >= 1")
    if args.heap_factor <= 1 or args.heap_margin_mib < 0:
        parser.error("need --heap-factor > 1 (the heap must hold the live data) and a margin >= 0")
    if args.detail_live not in args.live_mib:
        parser.error("--detail-live must be one of --live-mib")

    java = require_java()
    launch = launch_command(java)
    metrics: dict[str, dict] = {}

    def add(key: str, label: str, unit: str, value: float) -> None:
        metrics.setdefault(key, {"label": label, "unit": unit, "values": []})["values"].append(
            value
        )

    # G1 的停顿目标：不带任何调优参数时 JVM 报告的生效值（毫秒 → 秒）
    g1_value, g1_origin = final_flags(java, "-XX:+UseG1GC")["MaxGCPauseMillis"]
    add("g1_max_pause_target_s", "G1 · MaxGCPauseMillis 生效值", "s", int(g1_value) / 1e3)

    info: dict[str, object] = {
        "live_mib": args.live_mib,
        "heap_factor": args.heap_factor,
        "heap_margin_mib": args.heap_margin_mib,
        "heap_mib": {
            str(live): heap_mib_for(live, args.heap_factor, args.heap_margin_mib)
            for live in args.live_mib
        },
        "detail_live_mib": args.detail_live,
        "turnover": args.turnover,
        "warmup_s": args.warmup,
        "min_seconds": args.min_seconds,
        "threads": args.threads,
        "cpus": len(os.sched_getaffinity(0)),
        "g1_max_gc_pause_millis": {"value": g1_value, "origin": g1_origin},
        "names": {c: COLLECTORS[c][1] for c in collectors},
        # 按收集器、再按常驻数据量排好（运行顺序是随机的）
        "points": {c: {} for c in collectors},
    }
    with tempfile.TemporaryDirectory(prefix="gc_jvm-") as tmp:
        for live in args.live_mib:
            # 同一个点上收集器的先后随机：谁也不总是赶上机器最忙或最闲的时候
            for collector in random.sample(collectors, len(collectors)):
                raw = run_collector(launch, collector, live, args, Path(tmp))
                values = summarize(collector, raw)
                name = COLLECTORS[collector][1]
                java_out = raw["java"]
                print(
                    f"{name} @ {live} MiB live / {raw['heap_mib']} MiB heap: "
                    f"{values['pause_count']:.0f} pauses, "
                    f"max {values['pause_max_s'] * 1e3:.2f} ms, "
                    f"longest request {values['req_max_s'] * 1e3:.1f} ms, "
                    f"window {java_out['seconds']:.2f} s",
                    file=sys.stderr,
                )
                if not java_out["turnover_reached"]:
                    print(
                        f"warning: {name} @ {live} MiB: the window hit its time limit before "
                        "the turnover was reached (see info.points)",
                        file=sys.stderr,
                    )
                shown = SWEPT if live != args.detail_live else METRIC_LABELS
                for metric, value in values.items():
                    if metric in shown:
                        label, unit = shown[metric]
                        add(
                            f"{collector}_live{live}_{metric}",
                            f"{name} · 常驻 {live} MiB · {label}",
                            unit,
                            value,
                        )
                info["java"] = java_out["java"]
                pauses = raw["log"]["pauses"]
                info["points"][collector][str(live)] = {
                    "heap_mib": raw["heap_mib"],
                    "heap_max_B": raw["log"]["heap_max_B"],
                    "window_s": java_out["seconds"],
                    "window_pauses": len(pauses),
                    "window_gc_bean_counts": java_out["window_gcs"],
                    "turnover_reached": java_out["turnover_reached"],
                    "build_s": java_out["build_s"],
                    "longest_pause_kind": max(pauses, key=lambda p: p[1])[0] if pauses else "",
                    "pause_kinds": sorted({k for k, _ in pauses}),
                    "gc_beans": java_out["collectors"],
                }
    # 收集器的运行顺序是随机的，输出顺序固定：按常驻数据量、再按收集器
    order = [
        f"{c}_live{live}_{m}" for live in args.live_mib for c in COLLECTORS for m in METRIC_LABELS
    ]
    ranked = sorted(metrics, key=lambda k: order.index(k) if k in order else -1)
    metrics = {k: metrics[k] for k in ranked}
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    main()
