"""第三章 3.3 的 Python 部分：类型标注让 CPython 变快吗？让 mypyc 变快吗？

同一组内核写两份：types_typed.py 带类型标注，types_untyped.py 不带。四种跑法在同一个进程里轮流计时：
CPython 执行两份源码，以及 mypyc 把两份源码编译成的扩展模块
（构建时编译，按源码哈希缓存在 .perflab-cache/）。
计时按 timeit 的规则（按试测耗时定循环次数、取样时关掉循环垃圾回收、每轮轮换起点）；
所有比值都是同一轮里两次计时相除。mypyc 在本机编不出来时，标准输出照常给出 CPython 的结果，
并在 info.mypyc 里写明原因。

单独运行：python examples/ch3/types_python.py --rounds 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from compiled_kernels import calibrate, per_call  # noqa: E402  与 3.2 同一套计时规则

from perflab import native  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402

MODULES = ("types_typed", "types_untyped")
KERNELS = {"add": "加法循环", "props": "读对象属性"}
VARIANTS = {
    "cpython_typed": "CPython，带标注",
    "cpython_untyped": "CPython，不带标注",
    "mypyc_typed": "mypyc，带标注",
    "mypyc_untyped": "mypyc，不带标注",
}


def load_source(name: str):
    """按文件加载纯 Python 版（换个模块名，免得与同名的 mypyc 扩展模块相撞）。"""
    spec = importlib.util.spec_from_file_location(f"{name}_py", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_mypyc(info: dict) -> dict:
    """mypyc 编出的两个扩展模块；编不出来时返回空字典，原因写进 info。"""
    if importlib.util.find_spec("mypy") is None:
        sys.exit("missing package: mypy (PyPI, pinned in requirements.txt) provides mypyc")
    try:
        folder = native.mypyc_build([HERE / f"{m}.py" for m in MODULES], "ch3.types (mypyc)")
    except PerflabError as exc:
        info["mypyc"] = {"built": False, "why": f"{exc}\n{exc.detail or ''}".strip()}
        return {}
    sys.path.insert(0, str(folder))
    modules = {m: importlib.import_module(m) for m in MODULES}
    compiled = all(Path(mod.__file__).suffix == ".so" for mod in modules.values())
    if not compiled:
        raise SystemExit("mypyc build did not produce extension modules")
    info["mypyc"] = {"built": True, "files": sorted(p.name for p in folder.glob("*.so"))}
    return modules


def same_bytecode(a, b, names: list[str]) -> dict[str, bool]:
    """带标注与不带标注的函数，字节码是否一字不差（标注只进 __annotations__）。"""
    out = {}
    for name in names:
        fa, fb = a, b
        for part in name.split("."):
            fa, fb = getattr(fa, part), getattr(fb, part)
        out[name] = fa.__code__.co_code == fb.__code__.co_code
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="加法循环的迭代次数")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-time", type=float, default=0.02)
    args = parser.parse_args()
    if min(args.n, args.points, args.passes, args.rounds) < 1 or args.min_time <= 0:
        parser.error("sizes must be positive")

    info: dict = {"python": sys.version.split()[0], "n": args.n, "points": args.points}
    info["passes"] = args.passes
    mods = {f"cpython_{m.split('_')[1]}": load_source(m) for m in MODULES}
    functions = ["add", "sum_loop", "sum_points", "Point.__init__"]
    info["same_bytecode"] = same_bytecode(mods["cpython_typed"], mods["cpython_untyped"], functions)
    compiled = load_mypyc(info)
    for m, module in compiled.items():
        mods[f"mypyc_{m.split('_')[1]}"] = module

    cases = {}
    checks = {}
    for variant, mod in mods.items():
        points = mod.make_points(args.points)
        cases[f"{variant}_add"] = lambda mod=mod: mod.sum_loop(args.n)
        cases[f"{variant}_props"] = lambda mod=mod, pts=points: mod.sum_points(pts, args.passes)
        checks[variant] = [mod.sum_loop(args.n), mod.sum_points(points, args.passes)]
    info["checksums"] = checks

    names = list(cases)
    loops = {k: calibrate(fn, args.min_time) for k, fn in cases.items()}
    samples = {k: [] for k in names}
    for r in range(args.rounds):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            samples[k].append(per_call(cases[k], loops[k]))

    metrics = {}
    for variant in mods:
        for k, what in KERNELS.items():
            label = f"{VARIANTS[variant]}：{what}"
            values = samples[f"{variant}_{k}"]
            metrics[f"{variant}_{k}_s"] = {"label": label, "unit": "s", "values": values}

    def paired(key: str, label: str, a: str, b: str) -> None:
        """同一轮的两次计时相除：a 的耗时 ÷ b 的耗时。"""
        if a in samples and b in samples:
            values = [x / y for x, y in zip(samples[a], samples[b], strict=True)]
            metrics[key] = {"label": label, "unit": "×", "values": values}

    for k, what in KERNELS.items():
        cu, ct, mu, mt = (
            f"{v}_{k}" for v in ("cpython_untyped", "cpython_typed", "mypyc_untyped", "mypyc_typed")
        )
        paired(f"untyped_vs_typed_{k}", f"CPython：不带 ÷ 带标注（{what}）", cu, ct)
        paired(f"mypyc_speedup_{k}", f"带标注：CPython ÷ mypyc（{what}）", ct, mt)
        paired(f"mypyc_untyped_speedup_{k}", f"不带标注：CPython ÷ mypyc（{what}）", cu, mu)
    info.update(loops=loops, rounds=args.rounds, min_time_s=args.min_time)
    json.dump({"metrics": metrics, "info": info}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
