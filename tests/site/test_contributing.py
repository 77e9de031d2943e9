"""CONTRIBUTING.md matches the engine: its commands exist, its rule table is the engine's, its
helpers and budgets are the ones in the code; a guide that drifts costs a newcomer an hour."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

from perflab import book, claims, settings

GUIDE = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def make_targets() -> set[str]:
    out = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    return {"help"} | {line.split()[1] for line in out.splitlines() if line.startswith("make ")}


@pytest.mark.parametrize("text", [GUIDE, README], ids=["CONTRIBUTING.md", "README.md"])
def test_every_make_target_the_docs_name_is_in_make_help(text: str):
    # 安装系统包的那一行（apt-get install make gcc ...）里的 make 是包名，不是目标
    lines = [line for line in text.splitlines() if "install" not in line and "安装" not in line]
    named = set(re.findall(r"(?<![\w-])make ([a-z][a-z-]*)\b", "\n".join(lines)))
    assert named, "the guide names no make target"
    assert named - make_targets() == set()


def test_every_perflab_subcommand_the_guide_names_exists():
    named = set(re.findall(r"-m perflab ([a-z]+)", GUIDE))
    assert {"check", "run", "list"} <= named
    usage = subprocess.run(
        [sys.executable, "-m", "perflab", "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    groups = re.findall(r"\{([a-z,]+)\}", usage)
    offered = set(next(group for group in groups if ",run," in f",{group},").split(","))
    assert named - offered == set()


def test_the_rule_table_lists_exactly_the_engines_rule_kinds():
    table = re.findall(r"^\| `([a-z_]+)` \| `", GUIDE, flags=re.MULTILINE)
    assert sorted(table) == sorted(claims.RULE_KINDS)
    # approx 的容差是相对值：指南必须这样说
    assert "`tolerance` 是相对值" in GUIDE


def test_every_page_function_the_guide_lists_exists():
    listed = set(re.findall(r"\| `book\.([a-z_]+)\(", GUIDE))
    assert len(listed) >= 6
    assert {name for name in listed if not callable(getattr(book, name, None))} == set()


def test_every_test_helper_and_file_the_guide_names_exists():
    named = set(re.findall(r"`((?:tests|perflab|scripts)/[\w/.]+\.(?:py|sh))`", GUIDE))
    # ch2/foo 是指南里那个假想的新实验
    for path in (p for p in named if "foo" not in p):
        assert (ROOT / path).is_file(), path
    helpers = (ROOT / "tests/book_helpers.py").read_text(encoding="utf-8")
    for name in re.findall(r"\| `tests/book_helpers\.py` \| `([a-z_]+)\(", GUIDE):
        assert f"def {name}(" in helpers, name


def test_the_guide_states_the_engines_time_budgets():
    for profile, seconds in settings.TIME_BUDGET_S.items():
        assert re.search(rf"`{profile}` \|[^\n]*不超过 {seconds:.0f} s", GUIDE), profile
