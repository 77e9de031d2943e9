"""第二章 · GIL：切换间隔（sys.setswitchinterval）如何拖慢一个 I/O 线程。

一个线程不停做纯 Python 计算；主线程反复 sleep 1 ms，醒来后还得等 GIL 才能继续。
测的是“醒来后多等了多久”：实际耗时减去请求的睡眠时间。
单独运行：python examples/ch2/gil_switch.py --intervals 0.0005,0.005,0.05 --samples 20
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time


# --8<-- [start:probe]
def spin(stop: threading.Event) -> None:
    # CPU 线程：纯 Python 循环，从不主动放开 GIL，只能被切换间隔强制让出
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i


def wake_delays(samples: int, nap: float) -> list[float]:
    # I/O 线程：sleep 结束后要重新拿到 GIL 才能执行下一行
    delays = []
    for _ in range(samples):
        start = time.perf_counter()
        time.sleep(nap)
        delays.append(time.perf_counter() - start - nap)
    return delays


def with_cpu_thread(interval: float, samples: int, nap: float) -> list[float]:
    sys.setswitchinterval(interval)
    stop = threading.Event()
    worker = threading.Thread(target=spin, args=(stop,))
    worker.start()
    try:
        return wake_delays(samples, nap)
    finally:
        stop.set()
        worker.join()


# --8<-- [end:probe]


def name_for(interval: float) -> str:
    # 指标名里不能有小数点：0.0005 → 500us，0.005 → 5ms
    if interval < 1e-3:
        return f"{round(interval * 1e6)}us"
    return f"{round(interval * 1e3)}ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", default="0.0005,0.005,0.05", help="切换间隔（秒），逗号分隔")
    parser.add_argument("--samples", type=int, default=20, help="每个间隔测几次醒来")
    parser.add_argument("--nap", type=float, default=0.001, help="I/O 线程每次睡多久（秒）")
    args = parser.parse_args()
    intervals = [float(x) for x in args.intervals.split(",")]
    default = sys.getswitchinterval()

    metrics = {
        "idle_delay_s": {
            "label": "没有 CPU 线程：醒来后多等",
            "unit": "s",
            "values": wake_delays(args.samples, args.nap),
        }
    }
    for interval in intervals:
        delays = with_cpu_thread(interval, args.samples, args.nap)
        metrics[f"delay_{name_for(interval)}_s"] = {
            "label": f"切换间隔 {interval * 1e3:g} ms：醒来后多等",
            "unit": "s",
            "values": delays,
        }
    sys.setswitchinterval(default)
    result = {
        "metrics": metrics,
        "info": {
            "intervals_s": intervals,
            "default_interval_s": default,
            "samples": args.samples,
            "nap_s": args.nap,
            "cpus": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0],
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
