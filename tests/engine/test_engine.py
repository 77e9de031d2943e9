"""The engine end to end on a throwaway book: measuring, caching, invalidation, failures."""

from __future__ import annotations

import json
import time

import pytest
from engine_fixtures import TmpBook
from processes import process_gone

from perflab import book, cache, measure, registry, settings
from perflab.errors import PerflabError


def obtain(refresh: bool = False):
    exp = registry.get(registry.load(), "t.exp")
    return measure.obtain(exp, "quick", refresh=refresh)


def test_one_value_per_process_and_warmup_skipped(tmp_book: TmpBook):
    result = obtain()
    # 1 次预热 + 3 次重复；每个进程报两个样本：取其中位数作为一个独立值，预热的不计
    assert tmp_book.runs() == 4
    t_s = result.metric("python.t_s")
    assert t_s.values == pytest.approx([0.55] * 3)
    assert t_s.rounds == [[0.5, 0.6]] * 3
    assert t_s.summary.n == 3
    assert result.metric("python.ratio").summary.n == 3
    assert result.environment["profile"] == "quick"
    assert not result.from_cache


def test_unchanged_inputs_are_served_from_cache(tmp_book: TmpBook):
    obtain()
    again = obtain()
    assert again.from_cache
    assert tmp_book.runs() == 4


def test_refresh_forces_a_new_measurement(tmp_book: TmpBook):
    obtain()
    obtain(refresh=True)
    assert tmp_book.runs() == 8


def test_editing_the_example_invalidates_the_cache(tmp_book: TmpBook):
    obtain()
    example = tmp_book.root / "good.py"
    example.write_text(example.read_text() + "\n# 改动\n")
    assert not obtain().from_cache
    assert tmp_book.runs() == 8


def test_changing_inputs_or_profile_changes_the_key(tmp_book: TmpBook):
    exp = registry.get(registry.load(), "t.exp")
    quick_key = cache.cache_key(exp, "quick")
    assert cache.cache_key(exp, "full") != quick_key
    tmp_book.write_registry(quick_args='"--bigger"')
    changed = registry.get(registry.load(), "t.exp")
    assert cache.cache_key(changed, "quick") != quick_key


def test_unrelated_files_do_not_change_the_key(tmp_book: TmpBook):
    exp = registry.get(registry.load(), "t.exp")
    before = cache.cache_key(exp, "quick")
    (tmp_book.root / "page.md").write_text("只改了文字")
    assert cache.cache_key(exp, "quick") == before


@pytest.mark.parametrize("garbage", ["{not json", '{"key": 1}', '{"key": null, "result": []}', ""])
def test_malformed_cache_file_is_ignored_and_remeasured(tmp_book: TmpBook, garbage: str):
    obtain()
    (cached_file,) = (tmp_book.root / "cache" / "results" / "quick").glob("*.json")
    cached_file.write_text(garbage)
    result = obtain()
    assert not result.from_cache
    assert tmp_book.runs() == 8
    assert json.loads(cached_file.read_text())["result"]["experiment"] == "t.exp"


def test_tampered_cache_with_right_key_but_broken_result_is_not_trusted(tmp_book: TmpBook):
    obtain()
    (cached_file,) = (tmp_book.root / "cache" / "results" / "quick").glob("*.json")
    data = json.loads(cached_file.read_text())
    del data["result"]["metrics"]
    cached_file.write_text(json.dumps(data))
    assert not obtain().from_cache


def test_unknown_experiment_id_names_it(tmp_book: TmpBook):
    with pytest.raises(PerflabError, match=r"unknown experiment id 'nope'.*t\.exp"):
        book.start().result("nope")


def test_crashing_example_reports_its_stderr_tail(tmp_book: TmpBook):
    tmp_book.write_example(
        "crash.py", "import sys\nprint('最后一行日志', file=sys.stderr)\nraise SystemExit(3)\n"
    )
    tmp_book.write_registry(example="crash.py")
    with pytest.raises(PerflabError) as info:
        obtain()
    message = str(info.value)
    assert (
        message.splitlines()[0]
        == "experiment t.exp (python): example crashed (exited with status 3)"
    )
    assert "最后一行日志" in message


def test_example_printing_no_json_is_named(tmp_book: TmpBook):
    tmp_book.write_example("chatty.py", "print('hello')\n")
    tmp_book.write_registry(example="chatty.py")
    with pytest.raises(PerflabError, match=r"t\.exp \(python\): stdout is not one JSON object"):
        obtain()


SPAWNS_CHILD = """
import subprocess, sys, time, pathlib
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
pathlib.Path(sys.argv[1]).with_name("child.pid").write_text(str(child.pid))
{ending}
"""


@pytest.mark.parametrize(
    ("ending", "expected"),
    [("raise SystemExit(1)", "example crashed"), ("time.sleep(300)", "timed out after 2 s")],
)
def test_children_are_cleaned_up_after_crash_and_timeout(tmp_book: TmpBook, ending, expected):
    tmp_book.write_example("leaky.py", SPAWNS_CHILD.format(ending=ending))
    tmp_book.write_registry(example="leaky.py", extra="2")
    started = time.monotonic()
    with pytest.raises(PerflabError, match=expected):
        obtain()
    assert time.monotonic() - started < 30
    child = int((tmp_book.root / "child.pid").read_text())
    assert process_gone(child), "a process started by the example outlived it"


def test_invalid_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PERFLAB_PROFILE", "fast")
    with pytest.raises(PerflabError, match="PERFLAB_PROFILE='fast' is not a profile"):
        settings.profile()


def test_registry_errors_name_the_problem(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "experiments.toml").write_text(
        "[[experiment]]\nid = 'x'\n[[experiment.run]]\nlang='go'\npath='missing'\n"
    )
    with pytest.raises(PerflabError, match="example missing does not exist"):
        registry.load()
    (tmp_book.root / "registry" / "experiments.toml").write_text("not = [valid")
    with pytest.raises(PerflabError, match="not valid TOML"):
        registry.load()


def test_go_package_placeholder_becomes_a_built_binary(tmp_book: TmpBook):
    tmp_book.write_example(
        "drives_go.py",
        """
        import json, os, subprocess, sys
        binary = sys.argv[2]
        assert os.access(binary, os.X_OK), binary
        proc = subprocess.run([binary, "-n", "1000"], capture_output=True, text=True)
        out = json.loads(proc.stdout)
        print(json.dumps({"metrics": {"go_n": {"unit": "", "value": out["info"]["n"]}}}))
        """,
    )
    tmp_book.write_registry(example="drives_go.py", quick_args='"{go:go-examples/ch1/gil}"')
    result = obtain()
    assert result.metric("python.go_n").values == [1000.0] * 3
    exp = registry.get(registry.load(), "t.exp")
    assert "go-examples/ch1/gil/main.go" in cache.key_material(exp, "quick")["sources"]


def test_extra_sources_of_a_run_are_part_of_the_key(tmp_book: TmpBook):
    data = tmp_book.root / "workload.txt"
    data.write_text("一")
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    text = registry_file.read_text()
    registry_file.write_text(
        text.replace('lang = "python"', f'lang = "python"\nsources = ["{data}"]')
    )
    exp = registry.get(registry.load(), "t.exp")
    before = cache.cache_key(exp, "quick")
    data.write_text("二")
    assert cache.cache_key(exp, "quick") != before
    data.unlink()
    with pytest.raises(PerflabError, match=r"source .*workload\.txt is neither a file nor a"):
        registry.load()


def test_line_chart_must_give_one_metric_per_x_value(tmp_book: TmpBook):
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    registry_file.write_text(
        registry_file.read_text()
        + '\n[[experiment.chart]]\nkind = "line"\ntitle = "坏图"\nx = [1, 2]\n'
        + 'series = [{ label = "线程", metrics = ["python.t_s"] }]\n'
    )
    with pytest.raises(PerflabError, match="line chart '坏图' needs x values"):
        registry.load()


def test_run_label_from_the_registry_names_its_metrics(tmp_book: TmpBook):
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    text = registry_file.read_text()
    registry_file.write_text(
        text.replace('lang = "python"', 'lang = "python"\nlabel = "Python 线程"')
    )
    assert obtain().metric("python.t_s").run_label == "Python 线程"
    # 改显示名不必重测：缓存照用，名字照新
    registry_file.write_text(
        text.replace('lang = "python"', 'lang = "python"\nlabel = "改过的名字"')
    )
    again = obtain()
    assert again.from_cache and again.metric("python.t_s").run_label == "改过的名字"


def test_an_example_edited_while_it_is_measured_is_measured_again(tmp_book: TmpBook):
    # 示例在测量途中被改了（读者在 make serve 时编辑）：结果存在开始测量时的源码的键下，
    # 下一次构建发现源码变了，重新测量，而不是把旧代码测出的数字记在新代码名下
    edits = tmp_book.write_example(
        "edits.py",
        """
        import json, sys, pathlib
        pathlib.Path(sys.argv[1]).open("a").write("x")
        me = pathlib.Path(__file__)
        me.write_text(me.read_text() + "# 测量途中的一次编辑\\n")
        print(json.dumps({"metrics": {"t_s": {"label": "耗时", "unit": "s", "values": [0.5]}}}))
        """,
    )
    tmp_book.write_registry(example=edits.name)
    obtain()
    runs_after_first = tmp_book.runs()
    again = obtain()
    assert not again.from_cache
    assert tmp_book.runs() > runs_after_first


def test_a_source_folder_named_once_covers_every_file_in_it(tmp_book: TmpBook):
    # 实验级 sources 写一个目录（如 perflab/services）：目录里任何文件变了，结果都要重测
    lib = tmp_book.root / "lib"
    (lib / "sub").mkdir(parents=True)
    (lib / "a.py").write_text("A = 1\n")
    (lib / "sub" / "b.lua").write_text("-- b\n")
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    text = registry_file.read_text().replace(
        "[[experiment.run]]", f'sources = ["{lib}"]\n\n[[experiment.run]]', 1
    )
    registry_file.write_text(text)
    exp = registry.get(registry.load(), "t.exp")
    assert {p.name for p in exp.sources} == {"a.py", "b.lua"}
    before = cache.cache_key(exp, "quick")
    (lib / "sub" / "b.lua").write_text("-- changed\n")
    assert cache.cache_key(exp, "quick") != before
    registry_file.write_text(text.replace(str(lib), str(lib / "gone")))
    with pytest.raises(PerflabError, match=r"source .*gone is neither a file nor a folder"):
        registry.load()
