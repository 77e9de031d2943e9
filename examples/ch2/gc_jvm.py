"""第二章 · 垃圾回收与延迟（JVM）：同一个小堆、同一份分配密集负载，换四种收集器，读 GC 日志。

驱动 examples/ch2/jvm/GcLoad.java：用 -XX:+UseSerialGC / UseParallelGC / UseG1GC / UseZGC
各跑一次（每轮轮换顺序），堆固定（-Xms = -Xmx），用 -Xlog:gc*:file=… 写 GC 日志，
再从日志里读出计时段内每次停顿（Pause …）与 ZGC 的分配停顿（Allocation Stall）。
吞吐与请求耗时由 Java 程序自己统计。

需要 JDK（java；有 javac 时先编译一次并缓存，否则用 java 的单文件源码启动）。
单独运行：python examples/ch2/gc_jvm.py --seconds 1.5 --live-mib 120
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
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
def jvm_flags(collector: str, heap_mib: int, log_file: Path) -> list[str]:
    flag, _ = COLLECTORS[collector]
    return [
        flag,
        f"-Xms{heap_mib}m",  # 堆固定大小：四种收集器面对同一个小堆
        f"-Xmx{heap_mib}m",
        f"-Xlog:gc*:file={log_file}",  # 统一日志：停顿、阶段、分配停顿都在里面
        "-XX:-UsePerfData",  # 不在 /tmp 留 hsperfdata 文件
    ]


# --8<-- [end:flags]


def run_collector(
    launch: list[str], collector: str, args: argparse.Namespace, workdir: Path
) -> dict:
    log_file = workdir / f"{collector}.log"
    cmd = [
        launch[0],
        *jvm_flags(collector, args.heap_mib, log_file),
        *launch[1:],
        f"{args.seconds}",
        f"{args.warmup}",
        str(args.live_mib),
        str(args.threads),
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.seconds + args.warmup + 120
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
        sys.exit(f"gc_jvm: java with {collector} exited with status {proc.returncode}")
    out = json.loads(proc.stdout)
    log = parse_gc_log(
        log_file.read_text(encoding="utf-8", errors="replace"),
        out["window_start_s"],
        out["window_end_s"],
    )
    log_file.unlink()
    return {"java": out, "log": log}


METRIC_LABELS = {
    "pause_p50_s": ("停顿 p50", "s"),
    "pause_p99_s": ("停顿 p99", "s"),
    "pause_max_s": ("停顿最大值", "s"),
    "pause_count": ("停顿次数", ""),
    "req_p99_s": ("请求耗时 p99", "s"),
    "req_max_s": ("请求耗时最大值", "s"),
    "throughput": ("吞吐（请求/秒）", ""),
    "stall_count": ("分配停顿次数", ""),
    "stall_total_s": ("分配停顿累计（各线程之和）", "s"),
    "stall_max_s": ("分配停顿最大值", "s"),
}


def summarize(collector: str, raw: dict) -> dict[str, float]:
    out = raw["java"]
    pauses = sorted(seconds for _, seconds in raw["log"]["pauses"])
    values = {
        "pause_count": float(len(pauses)),
        "req_p99_s": out["req_p99_s"],
        "req_max_s": out["req_max_s"],
        "throughput": out["ops"] / out["seconds"],
    }
    if pauses:
        values["pause_p50_s"] = percentile(pauses, 0.50)
        values["pause_p99_s"] = percentile(pauses, 0.99)
        values["pause_max_s"] = pauses[-1]
    if collector == "zgc":
        # 只有 ZGC 把“线程等内存”单独记成 Allocation Stall；其余收集器的等待就是停顿本身
        stalls = [seconds for _, seconds in raw["log"]["stalls"]]
        values["stall_count"] = float(len(stalls))
        values["stall_total_s"] = sum(stalls)
        values["stall_max_s"] = max(stalls, default=0.0)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="每种收集器的计时秒数")
    parser.add_argument("--warmup", type=float, default=0.5, help="计时前的预热秒数（JIT）")
    parser.add_argument("--heap-mib", type=int, default=256, help="堆大小（-Xms = -Xmx），MiB")
    parser.add_argument("--live-mib", type=int, default=120, help="常驻数据约多少 MiB")
    parser.add_argument("--threads", type=int, default=2, help="分配线程数")
    parser.add_argument("--rounds", type=int, default=1, help="每种收集器跑几次")
    parser.add_argument(
        "--collectors", default=",".join(COLLECTORS), help="逗号分隔：" + ",".join(COLLECTORS)
    )
    args = parser.parse_args()
    collectors = [c for c in args.collectors.split(",") if c]
    if not collectors or set(collectors) - set(COLLECTORS):
        parser.error(f"--collectors must be a subset of {','.join(COLLECTORS)}")
    if args.seconds <= 0 or args.warmup < 0 or args.rounds < 1 or args.threads < 1:
        parser.error("need --seconds > 0, --warmup >= 0, --rounds >= 1, --threads >= 1")
    if not 0 < args.live_mib < args.heap_mib:
        parser.error("--live-mib must be positive and smaller than --heap-mib")

    launch = launch_command(require_java())
    metrics: dict[str, dict] = {}
    info: dict[str, object] = {
        "heap_mib": args.heap_mib,
        "live_mib": args.live_mib,
        "threads": args.threads,
        "seconds": args.seconds,
        "cpus": len(os.sched_getaffinity(0)),
        "collectors": {},
    }
    heap_values: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gc_jvm-") as tmp:
        for r in range(args.rounds):
            order = collectors[r % len(collectors) :] + collectors[: r % len(collectors)]
            for collector in order:
                raw = run_collector(launch, collector, args, Path(tmp))
                values = summarize(collector, raw)
                name = COLLECTORS[collector][1]
                print(
                    f"{name}: {values['pause_count']:.0f} pauses, "
                    f"max {values.get('pause_max_s', 0) * 1e3:.2f} ms, "
                    f"{values['throughput']:.0f} req/s",
                    file=sys.stderr,
                )
                for metric, value in values.items():
                    label, unit = METRIC_LABELS[metric]
                    entry = metrics.setdefault(
                        f"{collector}_{metric}",
                        {"label": f"{name} · {label}", "unit": unit, "values": []},
                    )
                    entry["values"].append(value)
                if raw["log"]["heap_max_B"]:
                    heap_values.append(float(raw["log"]["heap_max_B"]))
                java = raw["java"]
                info["java"] = java["java"]
                info["collectors"][collector] = {
                    "gc_beans": java["collectors"],
                    "max_gc_pause_millis": java["max_gc_pause_millis"],
                    "runtime_max_memory_B": java["max_heap_B"],
                    "cache_entries": java["cache_entries"],
                    "pause_kinds": sorted({k for k, _ in raw["log"]["pauses"]}),
                }
    if heap_values:
        metrics["heap_B"] = {"label": "堆上限（GC 日志）", "unit": "B", "values": heap_values}
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    main()
