"""What many tests need: the nav, an example run on its own, and medians from the quick build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from perflab import contention
from perflab.runner import parse_output

ROOT = Path(__file__).resolve().parents[1]


class _Loader(yaml.SafeLoader):
    pass


# mkdocs.yml names Python objects (markdown_exec.formatter); the navigation needs none of them.
_Loader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda *_: None)
_Loader.add_constructor("!ENV", lambda *_: None)


def mkdocs_config() -> dict:
    """mkdocs.yml as plain data (Python object tags and !ENV values read as None)."""
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)


def nav_pages() -> list[str]:
    """Source files of the pages in mkdocs.yml's nav, in order: 'index.md', 'ch1/gil.md', ..."""
    config = mkdocs_config()
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    return found


def run_example_process(
    path: str | Path, *args: str, timeout: float = 180, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    """An example run on its own, as a reader would: `python examples/...py args`."""
    return subprocess.run(
        [sys.executable, str(ROOT / path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def run_example(path: str | Path, *args: str, timeout: float = 180) -> dict:
    """The example's JSON output, checked for the shape the engine needs; it must exit 0."""
    proc = run_example_process(path, *args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return parse_output(proc.stdout, str(path))


def experiment(built_site: Path, exp_id: str) -> dict:
    """One experiment as exported by the quick-profile build (data/results.json)."""
    doc = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))
    (exp,) = [e for e in doc["experiments"] if e["id"] == exp_id]
    return exp


def measured(built_site: Path, exp_id: str) -> dict[str, float]:
    """Median of every metric of one experiment, by key ("python.threads_s")."""
    return {m["key"]: m["median"] for m in experiment(built_site, exp_id)["metrics"]}


def best(built_site: Path, exp_id: str) -> dict[str, float]:
    """Largest value of every metric of one experiment, by key. For a speed-up, the fastest
    round is the closest to what the machine can do: other processes only ever slow a round."""
    return {m["key"]: max(m["values"]) for m in experiment(built_site, exp_id)["metrics"]}


def skip_if_busy(built_site: Path, exp_id: str, run: str | None = None) -> None:
    """Skip a test of parallel speed-up when other processes took more than
    contention.QUIET_CPUS while the experiment (or one run of it) was measured: the machine
    then did not have the CPUs the relation needs, and the test would measure the neighbours."""
    busy = contention.summary(experiment(built_site, exp_id)["environment"], run)
    if busy is not None and busy[0] > contention.QUIET_CPUS:
        pytest.skip(
            f"{exp_id}: other processes used {busy[0]:.2f} CPUs (median) while it was measured"
        )
