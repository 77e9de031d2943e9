"""The GitHub Actions workflows: valid (actionlint) and within the project's security policy.

Policy: least-privilege permissions (read-only at the top, writes only where Pages is
deployed), every action pinned to a full commit SHA with its version in a comment, no
`pull_request_target`, and the same commands a developer runs locally.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
# Writes a job may ask for, and only the job that deploys to Pages.
DEPLOY_WRITES = {"pages", "id-token"}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+(?:\.\d+)*\b")


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path.name}: not a mapping"
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def events(doc: dict) -> set[str]:
    on = doc.get("on")
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on or {})


def actionlint() -> str:
    local = ROOT / ".venv" / "bin" / "actionlint"
    found = str(local) if local.is_file() else shutil.which("actionlint")
    if found is None:
        pytest.fail(
            "actionlint is not installed: run `make setup` (scripts/setup.sh installs the pinned"
            " version into .venv/bin with `go install`)"
        )
    return found


def test_workflows_exist():
    names = {f.name for f in FILES}
    assert {"pr.yml", "pages.yml"} <= names, names


def test_actionlint_passes():
    # shellcheck (installed by setup) checks the run: scripts; actionlint finds it on PATH.
    assert shutil.which("shellcheck"), "shellcheck is missing: run `make setup`"
    proc = subprocess.run(
        [actionlint(), "-no-color", *map(str, FILES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_action_is_pinned_to_a_commit(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = USES.match(line)
        if not match:
            continue
        ref = match["ref"].strip("'\"")
        if ref.startswith("./"):  # an action in this repository
            continue
        where = f"{path.name}:{number}: {line.strip()}"
        assert not ref.startswith("docker://"), f"{where}: use a pinned action, not an image"
        assert PINNED.match(ref), f"{where}: pin to a full 40-character commit SHA"
        assert VERSION_COMMENT.match(match["rest"]), f"{where}: add the version as `# vX.Y.Z`"


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_least_privilege(path: Path):
    doc = load(path)
    assert "pull_request_target" not in events(doc), (
        f"{path.name}: pull_request_target runs fork code with a write token"
    )
    top = doc.get("permissions")
    assert isinstance(top, dict), f"{path.name}: needs a top-level `permissions:` mapping"
    assert all(value in ("read", "none") for value in top.values()), (
        f"{path.name}: top-level permissions must be read-only: {top}"
    )
    for name, job in doc["jobs"].items():
        perms = job.get("permissions", {})
        assert isinstance(perms, dict), f"{path.name}/{name}: permissions `{perms}`"
        writes = {scope for scope, value in perms.items() if value == "write"}
        if not writes:
            continue
        steps = [step.get("uses", "") for step in job.get("steps", [])]
        assert any(u.startswith("actions/deploy-pages@") for u in steps), (
            f"{path.name}/{name} asks for {sorted(writes)} but does not deploy to Pages"
        )
        assert writes <= DEPLOY_WRITES, f"{path.name}/{name}: writes {sorted(writes)}"


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_jobs_are_bounded_and_checkouts_keep_no_token(path: Path):
    doc = load(path)
    for name, job in doc["jobs"].items():
        assert "timeout-minutes" in job, f"{path.name}/{name}: set timeout-minutes"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, (
                    f"{path.name}/{name}: checkout with persist-credentials: false"
                )


def run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def test_pull_requests_run_the_test_command_and_keep_the_site():
    doc = load(WORKFLOWS / "pr.yml")
    assert "pull_request" in events(doc)
    (job,) = doc["jobs"].values()
    assert job.get("env", {}).get("PERFLAB_PROFILE") == "quick"
    script = run_lines(job)
    assert re.search(r"^(make test|bash \.ci/run)$", script, re.M), script
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert any(s["with"]["path"] == "site" for s in uploads), "the built site is not uploaded"
    cached = [s["with"]["path"] for s in job["steps"] if "actions/cache@" in s.get("uses", "")]
    assert any(".perflab-cache" in p for p in cached) and any("pip" in p for p in cached)


def test_pages_measures_full_profile_shards_on_two_machine_kinds_and_refreshes_weekly():
    doc = load(WORKFLOWS / "pages.yml")
    measure = doc["jobs"]["measure"]
    cells = measure["strategy"]["matrix"]["include"]
    runners = {c["runner"] for c in cells}
    assert {"ubuntu-24.04", "ubuntu-24.04-arm"} <= runners, runners
    # 每种机器的分片齐全：1/N … N/N，且同一种机器用同一个名字
    for runner in runners:
        mine = [c for c in cells if c["runner"] == runner]
        count = int(mine[0]["shard"].split("/")[1])
        assert sorted(c["shard"] for c in mine) == [f"{i}/{count}" for i in range(1, count + 1)]
        assert len({c["machine"] for c in mine}) == 1
    script = run_lines(measure)
    assert (
        '-m perflab run --shard "${{ matrix.shard }}" --machine "${{ matrix.machine }}"' in script
    )
    assert measure["env"]["PERFLAB_PROFILE"] == "full"
    # The weekly run must re-measure, not republish cached numbers.
    refresh = str(measure["env"].get("PERFLAB_REFRESH", ""))
    assert "schedule" in refresh and "'1'" in refresh, refresh


def test_pages_merges_the_shards_builds_without_measuring_and_deploys():
    doc = load(WORKFLOWS / "pages.yml")
    build, deploy = doc["jobs"]["build"], doc["jobs"]["deploy"]
    assert build["needs"] == "measure"
    script = run_lines(build)
    assert re.search(
        r"^\s*\.venv/bin/python -m perflab merge shards/\*\.json --out merged\.json$", script, re.M
    )
    assert re.search(r"^\s*make build$", script, re.M)
    make_build = next(s for s in build["steps"] if s.get("run", "").strip() == "make build")
    assert make_build["env"]["PERFLAB_RESULTS"] == "merged.json"
    uploads = [s for s in build["steps"] if "upload-pages-artifact@" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["path"] == "site"
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_pages_checks_links_anchors_and_hosts_of_the_site_it_publishes():
    doc = load(WORKFLOWS / "pages.yml")
    steps = doc["jobs"]["build"]["steps"]
    runs = [step.get("run", "") for step in steps]
    build = next(i for i, run in enumerate(runs) if re.search(r"^\s*make build$", run, re.M))
    upload = next(i for i, s in enumerate(steps) if "upload-pages-artifact@" in s.get("uses", ""))
    checks = [
        i
        for i, run in enumerate(runs)
        if "pytest" in run
        and "tests/site/test_links.py" in run
        and "tests/site/test_site_hosts.py" in run
        and re.search(r"--site-dir[ =]site\b", run)
    ]
    assert checks, "the publishing build never runs the link check on site/"
    assert build < checks[0] < upload, "the link check must run after make build, before upload"


@pytest.mark.parametrize(("file", "job"), [("pr.yml", "test"), ("pages.yml", "measure")])
def test_jobs_that_build_the_jar_cache_mavens_repository_keyed_on_the_pom(file: str, job: str):
    steps = load(WORKFLOWS / file)["jobs"][job]["steps"]
    caches = [s["with"] for s in steps if "actions/cache@" in s.get("uses", "")]
    maven = [c for c in caches if c["path"].strip() == "~/.m2/repository"]
    # 不缓存时，jar 的缓存一不命中就要从 Maven Central 重新下载整个 Spring Boot
    assert maven, f"{file}/{job}: ~/.m2/repository is not cached"
    assert "hashFiles(" in maven[0]["key"] and "pom.xml" in maven[0]["key"], maven[0]["key"]
    # JDK 17 takes user.home from /etc/passwd, not $HOME: Maven must be told to use the cached one
    script = run_lines(load(WORKFLOWS / file)["jobs"][job])
    assert "MAVEN_OPTS=-Dmaven.repo.local=$HOME/.m2/repository" in script, script
    assert "$GITHUB_ENV" in script


def test_pages_installs_the_free_threaded_pythons_before_measuring_on_every_machine_kind():
    measure = load(WORKFLOWS / "pages.yml")["jobs"]["measure"]
    runs = [step.get("run", "") for step in measure["steps"]]
    setup = runs.index("make setup")
    shard = next(i for i, run in enumerate(runs) if "-m perflab run --shard" in run)
    install = [
        i
        for i, run in enumerate(runs)
        if re.search(r"^\s*bash scripts/freethreaded-python\.sh --require$", run, re.M)
    ]
    assert install, "the measure job never installs the free-threaded CPythons"
    # 在 setup 之后（要用 requirements.txt 里的 uv）、测量之前
    assert setup < install[0] < shard
    # 每种机器的每一片都装：这一步、这个任务都没有条件，矩阵也不排除哪一格
    assert "if" not in measure["steps"][install[0]] and "if" not in measure
    assert "exclude" not in measure["strategy"]["matrix"]
    # 装的正是 2.1 要测的自由线程版（registry/ch2/gil.toml 里带 t 的解释器）
    script = (ROOT / "scripts" / "freethreaded-python.sh").read_text(encoding="utf-8")
    installed = set(re.search(r"^VERSIONS=\(([^)]*)\)$", script, re.M).group(1).split())
    registry = tomllib.loads((ROOT / "registry" / "ch2" / "gil.toml").read_text(encoding="utf-8"))
    wanted = {
        run["interpreter"]
        for exp in registry["experiment"]
        for run in exp.get("run", [])
        if str(run.get("interpreter", "")).endswith("t")
    }
    assert {"3.13t", "3.14t"} <= wanted <= installed, (wanted, installed)
