"""perflab.maven: a Maven project's jar is built once per source hash in a temporary copy (no
target/ in the repository), `{mvn:...}` arguments expand to it, its sources enter the cache key,
and a failed build or a missing mvn is a one-line PerflabError. A stand-in `mvn` script does
the packaging so the test needs no network; the real build is exercised by ch4.microservices."""

from __future__ import annotations

import os
import stat

import pytest

from perflab import maven, native, plan
from perflab.errors import PerflabError
from perflab.registry import Run

FAKE_MVN = """#!/bin/sh
if [ "$2" = "--version" ]; then printf '\\033[1mApache Maven 9.9.9\\033[m (fake)\\n'; exit 0; fi
echo built >> "$MVN_COUNT"
grep -q BROKEN src/Main.java && { echo "[ERROR] COMPILATION ERROR: Main.java"; exit 1; }
mkdir -p target
cat pom.xml src/Main.java > target/app.jar
echo thin > target/app.jar.original
"""


@pytest.fixture
def fake_mvn(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mvn"
    script.write_text(FAKE_MVN)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MVN_COUNT", str(tmp_path / "count"))
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    maven.mvn_version.cache_clear()
    yield tmp_path / "count"
    maven.mvn_version.cache_clear()


@pytest.fixture
def project(tmp_path):
    proj = tmp_path / "svc"
    (proj / "src").mkdir(parents=True)
    (proj / "pom.xml").write_text("<project/>\n")
    (proj / "src" / "Main.java").write_text("class Main {}\n")
    return proj


def builds(count) -> int:
    return len(count.read_text().splitlines()) if count.exists() else 0


def test_the_jar_is_built_once_in_a_copy_and_again_when_a_source_changes(fake_mvn, project):
    first = maven.jar(project, "t")
    assert first.read_text() == "<project/>\nclass Main {}\n"
    assert not (project / "target").exists()  # 在临时副本里构建
    assert maven.jar(project, "t") == first and builds(fake_mvn) == 1
    (project / "src" / "Main.java").write_text("class Main { int x; }\n")
    second = maven.jar(project, "t")
    assert second != first and builds(fake_mvn) == 2
    assert maven.mvn_version() == "Apache Maven 9.9.9"


def test_mvn_arguments_expand_to_the_jar_and_its_sources_count(fake_mvn, project):
    (arg,) = plan.expand_args([f"--jar={{mvn:{project}}}"], "t")
    assert arg == f"--jar={maven.jar(project, 't')}"
    assert maven.arg_sources(f"{{mvn:{project}}}") == [
        project / "pom.xml",
        project / "src" / "Main.java",
    ]
    run = Run(
        name="p", lang="python", path=project / "x.py", args={"quick": [f"{{mvn:{project}}}"]}
    )
    used = native.toolchains([run])
    assert used["maven"] == "Apache Maven 9.9.9" and used["java"]


def test_a_failed_build_names_the_project_and_carries_maven_output(fake_mvn, project):
    (project / "src" / "Main.java").write_text("BROKEN\n")
    with pytest.raises(PerflabError, match=r"exp: mvn package failed in .*svc") as info:
        maven.jar(project, "exp")
    assert "COMPILATION ERROR" in info.value.detail


def test_a_folder_without_pom_is_not_a_maven_project(fake_mvn, tmp_path):
    with pytest.raises(PerflabError, match=r"no pom\.xml"):
        maven.jar(tmp_path, "t")


def test_missing_mvn_names_its_package(monkeypatch):
    monkeypatch.setattr(maven.shutil, "which", lambda name: None)
    with pytest.raises(PerflabError, match=r"mvn \(Debian package maven\)"):
        maven.require_mvn()
    with pytest.raises(PerflabError, match=r"java \(Debian package openjdk-17-jdk-headless\)"):
        maven.require_java()
