"""Every experiment in the registry, as a reader meets it.

Each Python example starts on its own from the repository root (`python examples/….py --help`)
and says in its docstring how to run it by hand; and the quick build measured every run the
registry lists, one value per repeat (the build runs each example as a fresh process with the
registry's quick arguments, so this is the examples' standalone quick run, checked once).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import ROOT, experiment

from perflab import paths, registry

EXPERIMENTS = registry.load()
PYTHON_EXAMPLES = sorted(
    {run.path for exp in EXPERIMENTS.values() for run in exp.runs if run.lang == "python"}
)


@pytest.mark.parametrize("path", PYTHON_EXAMPLES, ids=paths.relative)
def test_python_example_starts_on_its_own_from_the_repository_root(path: Path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    # 文档字符串写明怎样单独运行（读者照抄即可）
    assert "单独运行" in doc or "python " in doc, (
        f"{paths.relative(path)}: docstring says not how to run it"
    )
    proc = subprocess.run(
        [sys.executable, paths.relative(path), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")


@pytest.mark.parametrize("exp_id", sorted(EXPERIMENTS))
def test_the_quick_build_measured_every_registered_run(built_site: Path, exp_id: str):
    exp = EXPERIMENTS[exp_id]
    built = experiment(built_site, exp_id)
    measured_runs = {m["run"] for m in built["metrics"]}
    skipped = {name for name, info in built["info"].items() if "skipped" in info}
    for run in exp.runs:
        assert run.name in measured_runs or (run.optional and run.name in skipped), run.name
    repeats = exp.repeats_for("quick")
    short = [m["key"] for m in built["metrics"] if len(m["values"]) != repeats]
    assert not short, f"{exp_id}: not one value per repeat ({repeats}): {short}"
