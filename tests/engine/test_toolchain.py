"""Tool and library versions asked once and remembered until what they describe changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perflab import env, toolchain


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_a_version_is_asked_once_until_the_executable_or_a_watched_file_changes(
    cache: Path, tmp_path: Path
):
    tool, jar = tmp_path / "tool", tmp_path / "lib.jar"
    tool.write_text("#!/bin/sh\n", encoding="utf-8")
    jar.write_text("1", encoding="utf-8")
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return f"tool {len(asked)}"

    assert toolchain.remembered(str(tool), ask, also=[jar]) == "tool 1"
    assert toolchain.remembered(str(tool), ask, also=[jar]) == "tool 1"
    assert len(asked) == 1
    _touch_later(jar)  # 例如 Maven 升级换了 jar，而 mvn 脚本没变
    assert toolchain.remembered(str(tool), ask, also=[jar]) == "tool 2"
    _touch_later(tool)
    assert toolchain.remembered(str(tool), ask, also=[jar]) == "tool 3"
    assert toolchain.remembered(str(tool), ask, also=[jar]) == "tool 3"
    assert len(asked) == 3


def test_an_unreadable_record_or_a_missing_executable_asks_again(cache: Path, tmp_path: Path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n", encoding="utf-8")
    answers = iter(["first", "second", "third"])
    assert toolchain.remembered(str(tool), lambda: next(answers)) == "first"
    (record,) = (cache / "versions").iterdir()
    record.write_text("{not json", encoding="utf-8")
    assert toolchain.remembered(str(tool), lambda: next(answers)) == "second"
    assert toolchain.remembered(str(tmp_path / "gone"), lambda: next(answers)) == "third"


def test_library_versions_are_read_again_once_something_is_installed(monkeypatch):
    asked: list[str] = []
    stamp = [(1,)]

    def version(name: str) -> str:
        asked.append(name)
        return f"{len(asked)}.0"

    env._version.cache_clear()
    monkeypatch.setattr(env.importlib.metadata, "version", version)
    monkeypatch.setattr(env, "_site_stamp", lambda: stamp[0])
    assert env.library_versions(["orjson"]) == {"orjson": "1.0"}
    assert env.library_versions(["orjson"]) == {"orjson": "1.0"}
    stamp[0] = (2,)  # pip 装了、升级或删了什么：site-packages 的修改时间变了
    assert env.library_versions(["orjson"]) == {"orjson": "2.0"}
    assert asked == ["orjson", "orjson"]
    env._version.cache_clear()
