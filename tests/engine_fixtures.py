"""A throwaway book (registry, claims, examples, cache) in a temp folder for engine tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

# 一条固定条件下判定的说法，读 t.exp 的 t_s（GOOD_EXAMPLE 给出它）
CLAIM_TOML = """
[[claim]]
id = "t.claim"
page = "t.md"
claim = "耗时约半秒"
quoted = "耗时 0.5 秒"
source = "测试"
experiment = "t.exp"
condition = "测试条件"
unit = "s"
metric = "python.t_s"
rule = { kind = "approx", value = 0.5, tolerance = 0.5, why = "测试用的宽容差" }
"""

GOOD_EXAMPLE = """
import json, sys, pathlib
# 每次运行在计数文件里记一笔，测试据此判断是否真的重跑了
pathlib.Path(sys.argv[1]).open("a").write("x")
print(json.dumps({"metrics": {"t_s": {"label": "耗时", "unit": "s", "values": [0.5, 0.6]},
                              "ratio": {"label": "比值", "unit": "×", "value": 1.02}}}))
"""


class TmpBook:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.runs_file = root / "runs.txt"
        monkeypatch.setenv("PERFLAB_REGISTRY", str(root / "registry"))
        (root / "registry").mkdir()
        monkeypatch.setenv("PERFLAB_CACHE_DIR", str(root / "cache"))
        monkeypatch.setenv("PERFLAB_PROFILE", "quick")
        monkeypatch.delenv("PERFLAB_REFRESH", raising=False)
        self.write_example("good.py", GOOD_EXAMPLE)
        self.write_registry()
        (root / "registry" / "claims.toml").write_text("")

    def write_example(self, name: str, code: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(code))
        return path

    def write_registry(
        self, example: str = "good.py", quick_args: str = "", extra: str = ""
    ) -> None:
        args = f'["{self.runs_file}"{", " + quick_args if quick_args else ""}]'
        (self.root / "registry" / "experiments.toml").write_text(
            f"""
[[experiment]]
id = "t.exp"
title = "测试实验"
page = "t.md"
timeout_s = {extra or 20}
repeats = {{ quick = 3, full = 5 }}
warmup = {{ quick = 1, full = 1 }}

[[experiment.run]]
lang = "python"
path = "{self.root / example}"
args = {{ quick = {args}, full = {args} }}
"""
        )

    def runs(self) -> int:
        return len(self.runs_file.read_text()) if self.runs_file.exists() else 0
