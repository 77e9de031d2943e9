"""The ```go fence: output, every failure as ExecutionError, timeout cleanup, on-disk cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_exec import ExecutionError

from perflab import toolchain
from perflab.site import gofence

HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("你好, go fence") }\n'


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(cache))
    monkeypatch.delenv("PERFLAB_GO_FENCE_TIMEOUT", raising=False)
    return cache


@pytest.fixture
def go_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every subprocess the fence starts, in order."""
    calls: list[list[str]] = []
    real = gofence._go_run

    def counting(argv, *args, **kwargs):
        calls.append(list(argv))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(gofence, "_go_run", counting)
    return calls


def no_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_GO", "/nonexistent/go")
    toolchain.find_go.cache_clear()
    toolchain.go_version.cache_clear()


@pytest.fixture(autouse=True)
def fresh_toolchain_lookup():
    yield
    toolchain.find_go.cache_clear()
    toolchain.go_version.cache_clear()


def test_good_code_returns_stdout(cache_dir: Path, go_runs: list):
    assert gofence.run_go(HELLO) == "你好, go fence\n"
    assert len(go_runs) == 2  # build, then the binary
    [entry] = (cache_dir / "gofence").glob("*.json")
    assert json.loads(entry.read_text(encoding="utf-8"))["output"] == "你好, go fence\n"


def test_second_call_is_served_from_cache(go_runs: list, monkeypatch: pytest.MonkeyPatch):
    first = gofence.run_go(HELLO)
    runs = len(go_runs)
    assert gofence.run_go(HELLO) == first
    assert len(go_runs) == runs  # nothing was built or run again
    # a different program is not mistaken for the cached one
    other = HELLO.replace("你好", "再见")
    assert gofence.run_go(other) == "再见, go fence\n"
    assert len(go_runs) == runs + 2


def test_malformed_cache_entry_is_recomputed(cache_dir: Path, go_runs: list):
    gofence.run_go(HELLO)
    [entry] = (cache_dir / "gofence").glob("*.json")
    for garbage in ("{not json", '{"key": "x"}', '["list"]', '{"key": null, "output": 3}'):
        entry.write_text(garbage, encoding="utf-8")
        runs = len(go_runs)
        assert gofence.run_go(HELLO) == "你好, go fence\n"
        assert len(go_runs) == runs + 2
        assert json.loads(entry.read_text(encoding="utf-8"))["output"] == "你好, go fence\n"


def test_compile_error_raises(cache_dir: Path):
    code = "package main\n\nfunc main() { undefinedThing() }\n"
    with pytest.raises(ExecutionError) as info:
        gofence.run_go(code)
    message = str(info.value)
    assert message.splitlines()[0] == "go fence: compile error (go build failed)"
    assert "undefined: undefinedThing" in message
    assert info.value.returncode != 0
    assert not list(cache_dir.glob("gofence/*.json"))  # failures are not cached


def test_nonzero_exit_raises_unless_expected():
    code = 'package main\n\nimport "os"\n\nfunc main() { println("boom"); os.Exit(3) }\n'
    with pytest.raises(ExecutionError) as info:
        gofence.run_go(code)
    assert info.value.returncode == 3
    assert str(info.value).splitlines()[0] == ("go fence: program exited with status 3, expected 0")
    assert "boom" in str(info.value)
    assert gofence.run_go(code, returncode=3) == ""


def test_timeout_kills_the_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    gofence.run_go(HELLO)  # warm Go's build cache so the short budget goes to the program
    pid_file = tmp_path / "pid"
    code = f"""package main

import (
\t"os"
\t"strconv"
)

func main() {{
\tos.WriteFile({json.dumps(str(pid_file))}, []byte(strconv.Itoa(os.Getpid())), 0o644)
\tfor {{
\t}}
}}
"""
    monkeypatch.setenv("PERFLAB_GO_FENCE_TIMEOUT", "3")
    with pytest.raises(ExecutionError) as info:
        gofence.run_go(code)
    assert str(info.value).splitlines()[0] == "go fence: timed out after 3 s"
    pid = int(pid_file.read_text())  # the program did start ...
    assert not Path(f"/proc/{pid}").exists()  # ... and is gone, not even a zombie


def test_missing_go_raises(monkeypatch: pytest.MonkeyPatch):
    no_go(monkeypatch)
    with pytest.raises(ExecutionError) as info:
        gofence.run_go(HELLO)
    first = str(info.value).splitlines()[0]
    assert "missing Go toolchain" in first
    assert "go" in first


def test_bad_timeout_setting_raises(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PERFLAB_GO_FENCE_TIMEOUT", "soon")
    with pytest.raises(ExecutionError, match="PERFLAB_GO_FENCE_TIMEOUT"):
        gofence.run_go(HELLO)


def test_unexpected_failure_becomes_execution_error(monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(gofence, "_go_run", broken)
    with pytest.raises(ExecutionError, match="disk on fire"):
        gofence.run_go(HELLO)


def test_default_cache_location(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PERFLAB_CACHE_DIR")
    repo = Path(gofence.__file__).resolve().parents[2]
    assert gofence.cache_dir() == repo / ".perflab-cache" / "gofence"


def test_hook_registers_the_fence():
    import markdown_exec

    import hooks.go_fence  # noqa: F401

    assert markdown_exec.formatters["go"] is gofence.format_go


def test_fence_renders_through_markdown():
    import markdown
    import markdown_exec

    import hooks.go_fence  # noqa: F401

    fence = {
        "name": "go",
        "class": "go",
        "validator": markdown_exec.validator,
        "format": markdown_exec.formatter,
    }
    md = markdown.Markdown(
        extensions=["pymdownx.superfences"],
        extension_configs={"pymdownx.superfences": {"custom_fences": [fence]}},
    )
    html = md.convert(f'```go exec="1"\n{HELLO}```\n')
    assert "你好, go fence" in html
    assert "fmt.Println" not in html  # the output replaced the block, not the raw source
