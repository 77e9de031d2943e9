"""Chapter 5 · mixed deployment: the Python and Go models agree, every deployment answers right,
the drivers' output shapes and one-line failures (a dead gRPC model service, a missing node),
nothing outlives a run, and relations that must hold in the quick build (never timings)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from book_helpers import experiment, measured, run_example, run_example_process
from conftest import ROOT

from perflab import gobuild, paths, services

CH5 = ROOT / "examples/ch5"
sys.path.insert(0, str(CH5))

import deploy  # noqa: E402
import model  # noqa: E402


@pytest.fixture(scope="module")
def go_binary() -> Path:
    return gobuild.build(paths.resolve("go-examples/ch5/mixed"), "test ch5.mixed")


def test_weights_are_deterministic_and_the_model_is_not_trivial():
    assert model.make_weights() == model.make_weights()
    assert model.make_weights(seed=1) != model.make_weights()
    mlp = model.MLP(model.make_weights())
    scores = [mlp.predict(x) for x in model.example_features(200)]
    assert all(0 < s < 1 for s in scores)
    # 输出随输入变化（不是一个常数模型），parity 测试才有意义
    assert max(scores) - min(scores) > 0.2, (min(scores), max(scores))
    with pytest.raises(ValueError):
        mlp.predict([0.0] * 3)


def test_python_and_go_give_the_same_predictions(tmp_path: Path, go_binary: Path):
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps(model.make_weights()))
    rows = model.example_features(500, seed=7)
    inputs = tmp_path / "x.json"
    inputs.write_text(json.dumps(rows))
    done = subprocess.run(
        [str(go_binary), "-role", "predict", "-weights", str(weights), "-inputs", str(inputs)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    go_scores = json.loads(done.stdout)["scores"]
    py = run_example_process(CH5 / "model.py", "--weights", str(weights), "--inputs", str(inputs))
    assert py.returncode == 0, py.stderr
    py_scores = json.loads(py.stdout)["scores"]
    assert len(go_scores) == len(py_scores) == len(rows)
    worst = max(abs(a - b) for a, b in zip(go_scores, py_scores, strict=True))
    # 两边只差浮点求和的顺序：差别在 1e-15 量级，1e-12 给足余量
    assert worst <= 1e-12, worst


def _pids_tagged(tag: str) -> list[int]:
    """Processes whose environment carries `tag` (every service inherits its starter's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if tag.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
    return found


def test_every_deployment_answers_right_and_is_stopped(go_binary: Path, monkeypatch):
    tag = f"PERFLAB_TEST_TAG=ch5-{uuid.uuid4().hex}"
    monkeypatch.setenv(*tag.split("=", 1))
    with deploy.workdir() as tmp, contextlib.ExitStack() as stack:
        setup = deploy.prepare(tmp)
        groups = deploy.start_deployments(stack, setup, str(go_binary), None)
        assert set(groups) == {"py", "gofront", "nodefront", "go"}
        expect = setup.expect()
        for name, group in groups.items():
            front = group[0]
            answer = services.get(front, expect.path)
            assert expect.problem(answer) is None, (name, answer)
            # 特征个数不对：每个前置都回 400（gRPC 的 INVALID_ARGUMENT 也变成 400）
            bad = services.get(front, "/predict?x=0.1,0.2")
            assert bad.status == 400, (name, bad)
            garbage = services.get(front, "/predict?x=a,b")
            assert garbage.status == 400, (name, garbage)
        assert len(_pids_tagged(tag)) >= 6
    leftover = _pids_tagged(tag)
    assert not leftover, f"processes still running after the deployments stopped: {leftover}"


def test_a_wrong_answer_is_caught_by_the_check():
    setup = deploy.Setup(Path("."), Path("w"), Path("pb"), [0.0], expected=0.25)
    assert setup.score_problem(b'{"score": 0.25}') is None
    assert "expected" in setup.score_problem(b'{"score": 0.2500001}')
    assert "not" in setup.score_problem(b'{"message": 1}')


def _driver(*args: str, env: dict | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, str(CH5 / "mixed.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_a_model_service_dying_mid_run_fails_naming_it(go_binary: Path):
    tag = f"ch5-{uuid.uuid4().hex}"
    env = {**os.environ, "PERFLAB_TEST_TAG": tag}
    proc = _driver(
        "--go-binary", str(go_binary), "--warmup", "0", "--open-duration", "0.3",
        "--fault", "kill-model", env=env,
    )  # fmt: skip
    assert proc.returncode != 0
    assert proc.stdout == ""
    last = proc.stderr.strip().splitlines()
    message = next(line for line in last if line.startswith("mixed: "))
    assert "gofront python gRPC model" in message and "exited" in message, proc.stderr
    assert not _pids_tagged(tag), "a service outlived the failed run"


def test_missing_node_is_one_line_naming_it(go_binary: Path):
    env = {**os.environ, "PATH": "/nonexistent"}
    proc = _driver("--go-binary", str(go_binary), env=env, timeout=60)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "node" in lines[0] and "nodejs" in lines[0], proc.stderr


def test_bad_arguments_are_rejected():
    proc = _driver("--go-binary", "/nonexistent/mixed", timeout=60)
    assert proc.returncode != 0 and "no such file" in proc.stderr


def test_hop_driver_shape(go_binary: Path):
    out = run_example(CH5 / "hop.py", "--go-binary", str(go_binary), "--n", "100", "--warmup", "10")
    m = {k: v["values"][0] for k, v in out["metrics"].items()}
    for pair in ("go_py", "node_py", "go_go"):
        assert 0 < m[f"{pair}_ping_p50_s"] <= m[f"{pair}_ping_p99_s"], pair
        assert m[f"{pair}_predict_p50_s"] > 0
    # 一次经 gRPC 的推理，至少要花进程内算一次模型的时间
    assert m["numpy_compute_s"] < m["go_py_predict_p50_s"]
    assert 0 < m["model_share_pct"] < 100
    assert out["info"]["versions"]["node"].startswith("v")
    assert out["info"]["versions"]["grpc-go"].startswith("v1.")


@pytest.mark.site
def test_the_measured_relations_hold(built_site: Path):
    m = measured(built_site, "ch5.mixed")
    # 全 Go 没有 Python 也没有跨进程的一跳：容量高于另外三种中的每一种
    for d in ("py", "gofront", "nodefront"):
        assert m["load.go_cap_rps"] > m[f"load.{d}_cap_rps"], d
    for pct in (25, 50, 75):
        for d in ("py", "gofront", "nodefront", "go"):
            assert m[f"load.{d}_p50_s{pct}_s"] <= m[f"load.{d}_p99_s{pct}_s"]
            assert 0 <= m[f"load.{d}_err_s{pct}"] <= 5
    # 拐点不超过阶梯的最高一档
    for d in ("py", "gofront", "nodefront"):
        assert 0 <= m[f"load.{d}_knee_rps"] <= 1.2 * m[f"load.{d}_cap_rps"] + 1
    # 最高一档仍跟得上时（拐点只是下限），拐点就是最高一档的速率；info 记的是最后一轮
    values = {m["key"]: m["values"] for m in experiment(built_site, "ch5.mixed")["metrics"]}
    info = experiment(built_site, "ch5.mixed")["info"]["load"]
    for d in ("py", "gofront", "nodefront"):
        reached = info["knees"][d]["top_reached"]
        assert values[f"load.{d}_knee_top"][-1] == float(reached), d
        if reached:
            top = min(info["ladder"][-1] * values[f"load.{d}_cap_rps"][-1], info["max_rate"])
            assert values[f"load.{d}_knee_rps"][-1] == pytest.approx(top), d
    hop = measured(built_site, "ch5.mixed.hop")
    assert hop["hop.numpy_compute_s"] < hop["hop.go_py_predict_p50_s"]
    assert hop["hop.go_compute_s"] < hop["hop.go_go_predict_p50_s"]
