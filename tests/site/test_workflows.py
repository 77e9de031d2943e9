"""The GitHub Actions workflows: valid (actionlint) and within the project's security policy.

Policy: least-privilege permissions (read-only at the top, writes only where Pages is
deployed, and `contents: write` only in the one job that keeps each publishing run's results on
the perflab-history branch, after a deploy on main), every action pinned to a full commit SHA
with its version in a comment, no `pull_request_target`, a checkout keeps its token only in that
history job, and the same commands a developer runs locally.
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
# The one job that may write the repository's contents (and keep a checkout's token): it pushes
# each publishing run's merged results to the history branch after a successful deploy.
HISTORY_JOB = ("pages.yml", "history")
HISTORY_BRANCH = "perflab-history"
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
        if (path.name, name) == HISTORY_JOB:
            assert writes == {"contents"}, f"{path.name}/{name}: writes {sorted(writes)}"
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
        keeps_token = (path.name, name) == HISTORY_JOB
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is keeps_token, (
                    f"{path.name}/{name}: checkout with persist-credentials: {keeps_token}"
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


def test_only_the_history_job_writes_contents_after_a_deploy_on_main_never_for_a_pull_request():
    writers = [
        (path.name, name)
        for path in FILES
        for name, job in load(path)["jobs"].items()
        if (job.get("permissions") or {}).get("contents") == "write"
    ]
    assert writers == [HISTORY_JOB], writers
    doc = load(WORKFLOWS / "pages.yml")
    assert not {"pull_request", "pull_request_target"} & events(doc), events(doc)
    job = doc["jobs"]["history"]
    assert job["permissions"] == {"contents": "write"}
    # 部署成功之后才运行（needs 隐含 success()），且只在 main 上、不在拉取请求里
    assert job["needs"] in ("deploy", ["deploy"])
    condition = job["if"]
    assert "github.ref == 'refs/heads/main'" in condition, condition
    assert "github.event_name != 'pull_request'" in condition, condition
    assert not re.search(r"always\(\)|failure\(\)|cancelled\(\)", condition), condition
    # 它只用 git 推送那个分支，不运行仓库里的代码（make、python、脚本）
    script = run_lines(job)
    runs_code = r"^\s*(?:make|python3?|pytest|bash|sh)\b|^\s*\.\.?/|\.venv/bin/"
    assert not re.search(runs_code, script, re.M), script
    assert re.search(r"git push .*HEAD:refs/heads/\$HISTORY_BRANCH", script), script
    assert job["env"]["HISTORY_BRANCH"] == HISTORY_BRANCH and int(job["env"]["HISTORY_KEEP"]) > 0
    downloads = [s for s in job["steps"] if "download-artifact@" in s.get("uses", "")]
    assert downloads and downloads[0]["with"]["name"] == "history-entry"


def test_pages_builds_with_the_history_branch_fetched_read_only():
    build = load(WORKFLOWS / "pages.yml")["jobs"]["build"]
    assert "write" not in (build.get("permissions") or {}).values()
    checkouts = [
        s["with"]
        for s in build["steps"]
        if s.get("uses", "").startswith("actions/checkout@") and "ref" in s.get("with", {})
    ]
    assert checkouts == [
        {"ref": HISTORY_BRANCH, "path": "history", "persist-credentials": False}
    ], checkouts
    assert re.search(r"^mkdir -p history$", run_lines(build), re.M), (
        "no empty folder on a first run"
    )
    make_build = next(s for s in build["steps"] if s.get("run", "").strip() == "make build")
    assert make_build["env"]["PERFLAB_HISTORY"] == "history"
    uploads = [s["with"] for s in build["steps"] if "upload-artifact@" in s.get("uses", "")]
    assert any(u["name"] == "history-entry" for u in uploads), uploads


def test_the_history_jobs_script_keeps_the_newest_runs_on_one_commit(tmp_path: Path):
    """The history job's git script, run against a local bare repository three times: the first
    run creates the branch, later ones add their file and drop the oldest beyond HISTORY_KEEP,
    and the branch stays one commit (a force push guarded by the tip it started from)."""
    (step,) = [s for s in load(WORKFLOWS / "pages.yml")["jobs"]["history"]["steps"] if "run" in s]
    origin = tmp_path / "origin.git"

    def git(*args: str, cwd: Path = tmp_path) -> str:
        env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    git("init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git("clone", "-q", str(origin), str(seed))
    (seed / "code.txt").write_text("主分支的代码\n", encoding="utf-8")
    git("add", "code.txt", cwd=seed)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=seed)
    git("push", "-q", "origin", "HEAD:main", cwd=seed)
    for day in (1, 2, 3):
        work = tmp_path / f"run{day}"
        (work / "entry").mkdir(parents=True)
        (work / "entry" / f"2026-12-0{day}T031700Z-c{day}.json").write_text("{}", encoding="utf-8")
        git("clone", "-q", "--depth", "1", f"file://{origin}", str(work / "history"))
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GITHUB_WORKSPACE": str(work),
            "GITHUB_SHA": f"c{day}",
            "GITHUB_RUN_ID": str(day),
            "HISTORY_BRANCH": HISTORY_BRANCH,
            "HISTORY_KEEP": "2",
        }
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=work / "history",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    files = git("--git-dir", str(origin), "ls-tree", "--name-only", HISTORY_BRANCH).split()
    assert files == ["2026-12-02T031700Z-c2.json", "2026-12-03T031700Z-c3.json", "README.md"]
    assert len(git("--git-dir", str(origin), "rev-list", HISTORY_BRANCH).split()) == 1
    # main 没有被碰过
    assert git("--git-dir", str(origin), "ls-tree", "--name-only", "main").split() == ["code.txt"]
