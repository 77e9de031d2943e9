"""perflab.native: C, TypeScript and mypyc builds land in the cache once per source hash, and a
broken source or a missing compiler is a one-line PerflabError."""

from __future__ import annotations

import subprocess

import pytest

from perflab import native, plan
from perflab.errors import PerflabError
from perflab.registry import Run


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_c_binary_is_built_once_and_rebuilt_when_the_source_changes(tmp_path, cache):
    src = tmp_path / "hi.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("hi 1"); return 0; }\n')
    first = native.c_binary(src, "t")
    assert first.is_relative_to(cache)
    assert subprocess.run([first], capture_output=True, text=True).stdout == "hi 1\n"
    mtime = first.stat().st_mtime_ns
    assert native.c_binary(src, "t") == first and first.stat().st_mtime_ns == mtime
    src.write_text('#include <stdio.h>\nint main(void) { puts("hi 2"); return 0; }\n')
    second = native.c_binary(src, "t")
    assert second != first
    assert subprocess.run([second], capture_output=True, text=True).stdout == "hi 2\n"


def test_c_arguments_expand_to_the_binary(tmp_path, cache):
    src = tmp_path / "x.c"
    src.write_text("int main(void) { return 0; }\n")
    (arg,) = plan.expand_args([f"--bin={{c:{src}}}"], "t")
    assert arg.startswith("--bin=") and native.c_binary(src, "t") == native.Path(arg[6:])
    assert native.arg_sources(f"{{c:{src}}}") == [src]


def test_a_c_compile_error_names_the_source(tmp_path, cache):
    src = tmp_path / "bad.c"
    src.write_text("int main(void) { return }\n")
    with pytest.raises(PerflabError, match=r"gcc could not build .*bad\.c") as info:
        native.c_binary(src, "exp")
    assert "error" in info.value.detail


def test_missing_gcc_names_its_package(monkeypatch):
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    with pytest.raises(PerflabError, match=r"gcc \(Debian package gcc\)"):
        native.require_gcc()


def test_typescript_types_are_erased_and_node_runs_the_output(tmp_path, cache):
    entry = tmp_path / "main.ts"
    (tmp_path / "lib.ts").write_text("export function twice(x: number): number { return 2 * x; }\n")
    entry.write_text(
        'import { twice } from "./lib";\ndeclare const console: { log(x: unknown): void };\n'
        "console.log(twice(21));\n"
    )
    js = native.ts_output(entry, "t")
    assert ": number" not in (js.parent / "lib.js").read_text()
    run = Run(name="node", lang="node", path=entry, args={})
    done = subprocess.run(native.command(run, [], "t"), capture_output=True, text=True)
    assert done.stdout == "42\n"
    # 同一份源码不再编译；import 的文件变了就重新编译
    assert native.ts_output(entry, "t") == js
    (tmp_path / "lib.ts").write_text("export function twice(x: number): number { return x + x; }\n")
    assert native.ts_output(entry, "t") != js
    assert native.run_sources(run) == [tmp_path / "lib.ts", entry]


def test_a_type_error_fails_the_typescript_build(tmp_path, cache):
    entry = tmp_path / "bad.ts"
    entry.write_text('const n: number = "not a number";\n')
    with pytest.raises(PerflabError, match=r"tsc could not compile") as info:
        native.ts_output(entry, "t")
    assert "TS2322" in info.value.detail


def test_toolchains_name_what_the_runs_use(tmp_path):
    runs = [
        Run(name="c", lang="c", path=tmp_path / "a.c", args={}),
        Run(name="js", lang="node", path=tmp_path / "a.ts", args={}),
    ]
    used = native.toolchains(runs)
    assert set(used) == {"gcc", "node", "typescript"}
    assert used["gcc"].startswith("gcc ") and used["node"].startswith("v")
    assert native.toolchains([Run(name="p", lang="python", path=tmp_path / "a.py", args={})]) == {}
