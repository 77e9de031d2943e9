"""Runs under other Python interpreters: finding them (fake PATH and pyenv trees), skipping
optional ones that are missing, failing clearly on required ones, and one real run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from engine_fixtures import TmpBook

from perflab import cache, interpreters, measure, registry, render
from perflab.errors import PerflabError


def fake_python(
    path: Path, version: str, *, free_threaded: bool = False, broken: bool = False
) -> Path:
    """A shell script that answers the probe like a CPython of `version` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if broken:
        # 像 pyenv 的 shim：该版本未被选中时报错退出
        body = 'echo "pyenv: command not found" >&2\nexit 127\n'
    else:
        info = {
            "executable": str(path),
            "version": version,
            "implementation": "CPython",
            "build": f"{version} (fake)",
            "free_threaded": free_threaded,
            "gil_enabled": not free_threaded,
        }
        body = f"echo '{json.dumps(info)}'\n"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PATH folder, an empty .venv/bin and an empty pyenv root; tests add
    interpreters to them."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "pyenv" / "versions").mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(interpreters, "SETUP_BIN", tmp_path / "venv" / "bin")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    return tmp_path


def pyenv_python(root: Path, folder: str, name: str, **kw) -> Path:
    version = folder.rstrip("t")
    return fake_python(root / "pyenv" / "versions" / folder / "bin" / name, version, **kw)


def test_no_spec_is_the_engine_interpreter():
    found = interpreters.find(None)
    assert found.executable == sys.executable
    assert found.version == ".".join(map(str, sys.version_info[:3]))


def test_pyenv_newest_patch_wins_numerically(fake_env: Path):
    for folder in ("3.12.1", "3.12.10", "3.12.3", "3.12.11rc1"):
        pyenv_python(fake_env, folder, "python3.12")
    found = interpreters.find("3.12")
    # 3.12.10 > 3.12.3 > 3.12.1（按数字比较）；正式版优先于预发布版
    assert found.version == "3.12.10"
    assert found.executable.endswith("versions/3.12.10/bin/python3.12")


def test_path_comes_before_pyenv(fake_env: Path):
    fake_python(fake_env / "bin" / "python3.12", "3.12.0")
    pyenv_python(fake_env, "3.12.9", "python3.12")
    assert interpreters.find("3.12").version == "3.12.0"


def test_a_broken_shim_on_path_falls_through_to_pyenv(fake_env: Path):
    fake_python(fake_env / "bin" / "python3.13", "3.13.0", broken=True)
    pyenv_python(fake_env, "3.13.2", "python3.13")
    assert interpreters.find("3.13").version == "3.13.2"


def test_a_candidate_reporting_another_version_is_passed_over(fake_env: Path):
    fake_python(fake_env / "bin" / "python3.13", "3.11.4")
    assert interpreters.find("3.13") is None


def test_free_threaded_spec_needs_a_free_threaded_build(fake_env: Path):
    pyenv_python(fake_env, "3.13.1t", "python3.13t", free_threaded=True)
    # 自由线程版的安装里常常也有 python3.13；"3.13" 指默认（有 GIL）的构建，不能拿它充数
    pyenv_python(fake_env, "3.13.1t", "python3.13", free_threaded=True)
    ft = interpreters.find("3.13t")
    assert ft.free_threaded and not ft.gil_enabled and ft.version == "3.13.1"
    assert interpreters.find("3.13") is None


def test_the_books_venv_bin_is_searched_after_path_and_before_pyenv(fake_env: Path):
    # scripts/freethreaded-python.sh 让 uv 把自由线程版链接进 .venv/bin；
    # 发布工作流直接运行 .venv/bin/python，PATH 里没有这个目录
    pyenv_python(fake_env, "3.13.9t", "python3.13t", free_threaded=True)
    fake_python(fake_env / "venv" / "bin" / "python3.13t", "3.13.5", free_threaded=True)
    found = interpreters.find("3.13t")
    assert found.version == "3.13.5" and found.free_threaded
    assert found.executable == str(fake_env / "venv" / "bin" / "python3.13t")
    fake_python(fake_env / "bin" / "python3.13t", "3.13.1", free_threaded=True)
    assert interpreters.find("3.13t").version == "3.13.1"
    # 找不到时，原因里列出查过的三处
    why = interpreters.missing_reason("3.14t")
    assert "PATH" in why and str(fake_env / "venv" / "bin") in why and "pyenv" in why


def test_command_specs(fake_env: Path):
    pyenv_python(fake_env, "3.12.4", "python3.12")
    assert interpreters.find("python3.12").version == "3.12.4"
    other = fake_python(fake_env / "elsewhere" / "mypython", "3.10.1")
    assert interpreters.find(str(other)).version == "3.10.1"
    fake_python(fake_env / "bin" / "pypy3", "3.10.14")
    assert interpreters.find("pypy3").version == "3.10.14"
    assert interpreters.find("no-such-python") is None


def test_missing_required_interpreter_is_one_line_error(fake_env: Path):
    assert interpreters.find("3.99") is None
    with pytest.raises(PerflabError) as err:
        interpreters.require("3.99", "experiment t.exp (py399)")
    message = str(err.value)
    assert "\n" not in message
    assert "t.exp" in message and "3.99" in message and "optional" in message
    assert "python3.99" in interpreters.missing_reason("3.99")


# --- the registry and the engine -------------------------------------------------------------

RUN = """
[[experiment.run]]
name = "{name}"
lang = "python"
path = "{path}"
args = {{ quick = ["{runs}"], full = ["{runs}"] }}
{extra}
"""


def write_experiment(book: TmpBook, runs: list[dict], charts: str = "") -> None:
    body = "".join(
        RUN.format(
            name=r["name"],
            path=book.root / "good.py",
            runs=book.runs_file,
            extra=r.get("extra", ""),
        )
        for r in runs
    )
    (book.root / "registry" / "experiments.toml").write_text(
        '[[experiment]]\nid = "t.exp"\ntitle = "测试实验"\npage = "t.md"\ntimeout_s = 20\n'
        "repeats = { quick = 2, full = 2 }\nwarmup = { quick = 0, full = 0 }\n" + body + charts
    )


def load_exp():
    return registry.get(registry.load(), "t.exp")


def test_registry_reads_interpreter_and_optional(tmp_book: TmpBook):
    write_experiment(
        tmp_book,
        [
            {"name": "here"},
            {"name": "py312", "extra": 'interpreter = "3.12"\noptional = true'},
        ],
    )
    here, py312 = load_exp().runs
    assert (here.interpreter, here.optional) == (None, False)
    assert (py312.interpreter, py312.optional) == ("3.12", True)


@pytest.mark.parametrize(
    "extra, words",
    [
        ("interpreter = 3.12\noptional = true", "interpreter"),
        ('interpreter = "3.12"\noptional = "yes"', "optional"),
    ],
)
def test_registry_rejects_bad_interpreter_fields(tmp_book: TmpBook, extra: str, words: str):
    write_experiment(tmp_book, [{"name": "bad", "extra": extra}])
    with pytest.raises(PerflabError, match=words):
        load_exp()


def test_missing_optional_interpreter_is_skipped_and_said(
    tmp_book: TmpBook, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    write_experiment(
        tmp_book,
        [
            {"name": "here"},
            {"name": "py399", "extra": 'interpreter = "3.99"\noptional = true'},
        ],
        charts='[[experiment.chart]]\ntitle = "图"\nmetrics = ["here.t_s", "py399.t_s"]\n',
    )
    exp = load_exp()
    result = measure.measure(exp, "quick")
    assert tmp_book.runs() == 2  # 只有 here 跑了两次
    assert set(result.metrics) == {"here.t_s", "here.ratio"}
    assert "python3.99" in result.info["py399"]["skipped"]
    used = result.environment["interpreters"]["py399"]
    assert used["found"] is False and used["requested"] == "3.99"
    # 图里只剩找到的那一条；页面上的表说清哪个没找到
    svg = render.chart_html(result, exp.charts)
    assert svg.count("<rect") == 1
    table = render.interpreters_table(result)
    assert "py399" in table and "未找到" in table


def test_missing_required_interpreter_fails_before_running(
    tmp_book: TmpBook, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    write_experiment(
        tmp_book,
        [{"name": "here"}, {"name": "py399", "extra": 'interpreter = "3.99"'}],
    )
    with pytest.raises(PerflabError, match=r"t\.exp.*3\.99"):
        measure.measure(load_exp(), "quick")
    assert tmp_book.runs() == 0


def test_cache_key_includes_each_interpreters_exact_version(tmp_book: TmpBook, fake_env: Path):
    python = pyenv_python(fake_env, "3.12.1", "python3.12")
    write_experiment(tmp_book, [{"name": "py312", "extra": 'interpreter = "3.12"'}])
    exp = load_exp()
    before = cache.cache_key(exp, "quick")
    material = cache.key_material(exp, "quick")["interpreters"]["py312"]
    assert material["version"] == "3.12.1" and material["build"] == "3.12.1 (fake)"
    # 同一路径上换了一个补丁版本（比如原地升级）：键必须变
    fake_python(python, "3.12.2")
    os.utime(python, ns=(1, 1))
    assert cache.cache_key(exp, "quick") != before
    # 新装了一个更高的补丁版本：同样重测
    again = cache.cache_key(exp, "quick")
    pyenv_python(fake_env, "3.12.5", "python3.12")
    assert cache.cache_key(exp, "quick") != again


def test_real_run_under_a_named_interpreter(tmp_book: TmpBook):
    """One real run: the example really runs under the interpreter the registry names."""
    example = tmp_book.write_example(
        "which.py",
        """
        import json, platform, sys
        print(json.dumps({"metrics": {"one": {"label": "一", "unit": "", "values": [1]}},
                          "info": {"executable": sys.executable,
                                   "version": platform.python_version(),
                                   "no_user_site": sys.flags.no_user_site}}))
        """,
    )
    spec = f"python{sys.version_info.major}.{sys.version_info.minor}"
    target = interpreters.find(spec) or interpreters.find(sys.executable)
    (tmp_book.root / "registry" / "experiments.toml").write_text(
        f"""
[[experiment]]
id = "t.exp"
title = "测试实验"
page = "t.md"
repeats = {{ quick = 1, full = 1 }}

[[experiment.run]]
name = "other"
lang = "python"
interpreter = "{target.executable}"
path = "{example}"
"""
    )
    result = measure.measure(load_exp(), "quick")
    info = result.info["other"]
    assert info["executable"] == target.executable
    assert info["version"] == target.version
    assert info["no_user_site"] == 1  # 以 -E -s 运行
    assert result.environment["interpreters"]["other"]["version"] == target.version


def test_a_probe_is_remembered_across_builds_until_the_interpreter_changes(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch
):
    # 每次构建都启动五个解释器要 0.3 s：答案记在磁盘上，解释器文件变了（mtime）才重新探测
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(fake_env / "cache"))
    runs = fake_env / "runs.txt"
    python = fake_python(fake_env / "bin" / "python3.12", "3.12.1")
    python.write_text(python.read_text().replace("#!/bin/sh\n", f"#!/bin/sh\necho x >> {runs}\n"))
    assert interpreters.probe(python).version == "3.12.1"
    interpreters._probe_cached.cache_clear()  # 像一次新的构建进程
    assert interpreters.probe(python).version == "3.12.1"
    assert runs.read_text().count("x") == 1
    os.utime(python, ns=(0, python.stat().st_mtime_ns + 10**9))
    assert interpreters.probe(python).version == "3.12.1"
    assert runs.read_text().count("x") == 2


# --- scripts/freethreaded-python.sh: uv installs 3.13t and 3.14t into .venv --------------------

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "freethreaded-python.sh"
# 脚本要用 bash、timeout、grep：取测试开始时的 PATH（fake_env 会把 PATH 换成空目录）
SYSTEM_PATH = os.environ.get("PATH", os.defpath)
SKIP_LINE = re.compile(r"^==> 跳过自由线程版 CPython：.+（2\.1 里这两行标为未测）$")


def run_script(venv: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # 限时：下载不到时脚本必须很快返回，这里给足余量，挂住就算失败
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, "PATH": SYSTEM_PATH, "PERFLAB_VENV": str(venv), **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def fake_uv(venv: Path, body: str) -> Path:
    """A stand-in for .venv/bin/uv that writes its arguments and uv's variables to uv.log."""
    uv = venv / "bin" / "uv"
    uv.parent.mkdir(parents=True, exist_ok=True)
    uv.write_text(
        "#!/bin/sh\n"
        f'echo "$* | $UV_PYTHON_INSTALL_DIR | $UV_PYTHON_BIN_DIR" >> "{venv}/uv.log"\n' + body
    )
    uv.chmod(0o755)
    return uv


def test_setup_skips_the_free_threaded_pythons_in_one_line_when_uv_cannot_download(
    tmp_path: Path,
):
    real_uv = interpreters.SETUP_BIN / "uv"
    if not real_uv.is_file():
        pytest.fail("uv is not installed: run `make setup` (requirements.txt pins it)")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "uv").symlink_to(real_uv)
    # UV_OFFLINE 与空缓存：在能联网、下载过的机器上也同样下载不到
    offline = {
        "UV_OFFLINE": "1",
        "UV_CACHE_DIR": str(tmp_path / "cache"),
        "UV_PYTHON_CACHE_DIR": str(tmp_path / "python-cache"),
    }
    proc = run_script(venv, **offline)
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    assert SKIP_LINE.match(line), line
    assert not (venv / "bin" / "python3.13t").exists()
    # 发布工作流用 --require：同样的情况要失败，一行说明原因
    proc = run_script(venv, "--require", **offline)
    assert proc.returncode != 0
    (error,) = proc.stderr.splitlines()
    assert "装不上自由线程版 CPython" in error


def test_the_free_threaded_install_is_bounded_in_time(tmp_path: Path):
    venv = tmp_path / "venv"
    fake_uv(venv, "exec sleep 30\n")  # 像一个挂住的下载
    proc = run_script(venv, PERFLAB_FREETHREADED_TIMEOUT_S="1")
    assert proc.returncode == 0
    (line,) = proc.stdout.splitlines()
    assert SKIP_LINE.match(line) and "超过 1 秒" in line, line
    assert run_script(venv, "--require", PERFLAB_FREETHREADED_TIMEOUT_S="1").returncode != 0


def test_installed_free_threaded_pythons_are_checked_and_found_by_the_engine(
    tmp_path: Path, fake_env: Path
):
    venv = fake_env / "venv"
    fake_uv(venv, "exit 0\n")  # 已经装好：uv 不联网，直接返回
    for version in ("3.13", "3.14"):
        fake_python(venv / "bin" / f"python{version}t", f"{version}.2", free_threaded=True)
    proc = run_script(venv)
    assert proc.returncode == 0, proc.stderr
    assert "已就绪" in proc.stdout
    # uv 装进 .venv/python，可执行文件链接到 .venv/bin：引擎查找的地方
    args, install_dir, bin_dir = (venv / "uv.log").read_text().strip().split(" | ")
    assert args == "python install 3.13t 3.14t"
    assert (install_dir, bin_dir) == (str(venv / "python"), str(venv / "bin"))
    for spec in ("3.13t", "3.14t"):
        found = interpreters.find(spec)
        assert found.free_threaded and found.executable == str(venv / "bin" / f"python{spec}")
    # 发布的运行器（--require）还装 2.1 同台比较的默认构建
    for version in ("3.12", "3.13", "3.14"):
        fake_python(venv / "bin" / f"python{version}", f"{version}.1", free_threaded=False)
    proc = run_script(venv, "--require")
    assert proc.returncode == 0, proc.stderr
    args = (venv / "uv.log").read_text().strip().splitlines()[-1].split(" | ")[0]
    assert args == "python install 3.13t 3.14t 3.12 3.13 3.14"
    # 装上的若是有 GIL 的构建（退出码 1 = sys._is_gil_enabled()），--require 不放过
    (venv / "bin" / "python3.14t").write_text("#!/bin/sh\nexit 1\n")
    proc = run_script(venv, "--require")
    assert proc.returncode != 0 and "python3.14t" in proc.stderr
