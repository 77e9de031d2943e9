"""第三章 3.2：整进程的启动时间与峰值常驻内存，Go、C 与 Python 各一份。

- 启动时间：hyperfine（Debian 包）把每种语言的 hello world 当作整个进程反复启动，
  先预热 --warmup 次（可执行文件与共享库都已在页缓存里：测的是热缓存），再计 --runs 次；
- 峰值常驻内存：每个 hello world、每个内核各跑一遍（内核用 --once），由小小的 C 程序 peak_rss
  启动它并用 wait4 读 ru_maxrss——整个进程一生中最多占过多少物理内存
  （为什么不从 Python 直接读，见 peak_rss.c）。

单独运行（先编好两个 Go 程序与两个 C 程序）：
python examples/ch3/compiled_table.py --go-hello BIN --c-hello BIN \\
    --go-kernels BIN --c-kernels BIN --peak-rss BIN
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNELS = {"loop": "朴素循环", "nbody": "n 体模拟", "words": "词频统计"}
NAMES = {"go": "Go", "c": "C", "python": "Python", "python_bare": "Python -I -S"}


def start_times(commands: dict[str, list[str]], runs: int, warmup: int) -> dict[str, list[float]]:
    """hyperfine 逐条命令计时（不经 shell），返回每次启动的秒数。"""
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        sys.exit("missing tool: hyperfine (Debian package hyperfine) not found; run `make setup`")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hyperfine.json"
        cmd = [hyperfine, "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs)]
        cmd += ["--export-json", str(out), *(shlex.join(c) for c in commands.values())]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            sys.exit(f"hyperfine failed: {done.stderr.strip()[-500:]}")
        results = json.loads(out.read_text())["results"]
    return {name: r["times"] for name, r in zip(commands, results, strict=True)}


def peak_rss(launcher: str, cmd: list[str]) -> float:
    """命令整个进程一生中的峰值常驻内存（字节）；命令失败时报错退出。"""
    done = subprocess.run([launcher, *cmd], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed: {done.stderr.strip()[-300:]}")
    return float(json.loads(done.stdout)["peak_rss_B"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--go-hello", "--c-hello", "--go-kernels", "--c-kernels", "--peak-rss"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--runs", type=int, default=20, help="hyperfine 每条命令计时的次数")
    parser.add_argument("--warmup", type=int, default=3, help="hyperfine 预热次数")
    parser.add_argument("--rss-repeats", type=int, default=3, help="每个进程量几次峰值内存")
    parser.add_argument("--loop-n", default="200000")
    parser.add_argument("--nbody-steps", default="2000")
    parser.add_argument("--words-n", default="50000")
    parser.add_argument("--vocab", default="5000")
    args = parser.parse_args()
    if min(args.runs, args.rss_repeats) < 1 or args.warmup < 0:
        parser.error("--runs and --rss-repeats must be at least 1")

    py = sys.executable
    hello = {
        "go": [args.go_hello],
        "c": [args.c_hello],
        "python": [py, str(HERE / "hello.py")],
        # 不读环境变量、不加载 site（venv 的 .pth 文件）：解释器本身的启动
        "python_bare": [py, "-I", "-S", str(HERE / "hello.py")],
    }
    sizes = ["--loop-n", args.loop_n, "--nbody-steps", args.nbody_steps]
    sizes += ["--words-n", args.words_n, "--vocab", args.vocab]
    go_sizes = [s.replace("--", "-", 1) for s in sizes]
    kernels = {
        "go": lambda k: [args.go_kernels, *go_sizes, "-once", k],
        "c": lambda k: [args.c_kernels, *sizes, "--once", k],
        "python": lambda k: [py, str(HERE / "compiled_kernels.py"), *sizes, "--once", k],
    }

    metrics = {}
    for name, times in start_times(hello, args.runs, args.warmup).items():
        label = f"{NAMES[name]}：hello world 整个进程的启动到退出（热缓存）"
        metrics[f"{name}_start_s"] = {"label": label, "unit": "s", "values": times}
    for name, cmd in hello.items():
        values = [peak_rss(args.peak_rss, cmd) for _ in range(args.rss_repeats)]
        label = f"{NAMES[name]}：hello world 的峰值常驻内存"
        metrics[f"{name}_hello_rss_B"] = {"label": label, "unit": "B", "values": values}
    for lang, make in kernels.items():
        for k, what in KERNELS.items():
            values = [peak_rss(args.peak_rss, make(k)) for _ in range(args.rss_repeats)]
            label = f"{NAMES[lang]}：{what}跑一遍的峰值常驻内存"
            metrics[f"{lang}_{k}_rss_B"] = {"label": label, "unit": "B", "values": values}
    info = {
        "runs": args.runs,
        "warmup": args.warmup,
        "cache": "热缓存",
        "hyperfine": subprocess.run(
            ["hyperfine", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip(),
        "python": sys.version.split()[0],
        "sizes": dict(zip(KERNELS, [args.loop_n, args.nbody_steps, args.words_n], strict=True)),
    }
    json.dump({"metrics": metrics, "info": info}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
