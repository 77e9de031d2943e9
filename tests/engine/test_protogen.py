"""perflab.protogen: generated protobuf / gRPC code is made from the .proto, regenerated when
stale (the .proto or a generator changed), and a missing generator is a one-line error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perflab import gobuild, paths, protogen
from perflab.errors import PerflabError

PROTO_TEXT = protogen.PROTO.read_text()


@pytest.fixture
def proto(tmp_path):
    path = tmp_path / "proto" / "model.proto"
    path.parent.mkdir()
    path.write_text(PROTO_TEXT)
    return path


def test_go_code_is_generated_once_and_again_when_the_proto_changes(tmp_path, proto):
    out = tmp_path / "modelpb"
    assert protogen.ensure_go(out, proto) is True
    assert {p.name for p in out.iterdir()} == {*protogen.GO_OUTPUTS, protogen.STAMP}
    assert "func (c *modelClient) Predict(" in (out / "model_grpc.pb.go").read_text()
    assert protogen.ensure_go(out, proto) is False  # 戳对得上：不重新生成
    # .proto 加了一个方法：生成的代码过期了，必须重新生成而不是被用上
    proto.write_text(
        PROTO_TEXT.replace("rpc Ping(", "rpc Warm(Empty) returns (Empty);\n  rpc Ping(")
    )
    assert protogen.ensure_go(out, proto) is True
    assert "Warm(" in (out / "model_grpc.pb.go").read_text()


def test_a_hand_edited_or_foreign_stamp_means_regeneration(tmp_path, proto):
    out = tmp_path / "modelpb"
    protogen.ensure_go(out, proto)
    (out / "model.pb.go").write_text("package modelpb // stale\n")
    (out / protogen.STAMP).write_text("0000000000000000\n")
    assert protogen.ensure_go(out, proto) is True
    assert "stale" not in (out / "model.pb.go").read_text()


def test_python_code_lands_in_a_folder_named_by_the_proto(tmp_path, proto, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    first = protogen.python_package(proto)
    assert {p.name for p in first.iterdir()} >= set(protogen.PY_OUTPUTS)
    assert protogen.python_package(proto) == first
    proto.write_text(PROTO_TEXT.replace("double score = 1;", "double score = 1;\n  int32 n = 2;"))
    second = protogen.python_package(proto)
    assert second != first and "n" in (second / "model_pb2.py").read_text()
    # 生成的模块真能导入、能用
    code = "import model_pb2; print(model_pb2.PredictReply(score=0.5, n=3).n)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=second, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "3", done.stderr


def test_missing_protoc_is_one_line_naming_the_package(tmp_path, proto, monkeypatch):
    monkeypatch.setattr(protogen, "_find", lambda name: None)
    with pytest.raises(PerflabError) as err:
        protogen.ensure_go(tmp_path / "out", proto)
    message = str(err.value)
    assert "protoc" in message and "protobuf-compiler" in message and "\n" not in message


def test_missing_go_plugin_names_its_module(tmp_path, proto, monkeypatch):
    real = protogen._find
    monkeypatch.setattr(protogen, "_find", lambda n: None if n == "protoc-gen-go-grpc" else real(n))
    with pytest.raises(PerflabError, match=r"protoc-gen-go-grpc.*google.golang.org/grpc/cmd"):
        protogen.ensure_go(tmp_path / "out", proto)


def test_a_bad_proto_fails_naming_it(tmp_path, proto):
    proto.write_text(PROTO_TEXT.replace("message Empty {}", "message Empty {"))
    with pytest.raises(PerflabError, match=r"protoc .*model\.proto \(Go\) failed"):
        protogen.ensure_go(tmp_path / "out", proto)


def test_gobuild_hashes_the_generated_code_of_the_book(monkeypatch):
    # 编译 ch5/mixed 之前先确保生成的代码是新的，它的文件进了源码哈希
    package = paths.resolve("go-examples/ch5/mixed")
    names = {p.name for p in gobuild.source_files(package)}
    assert set(protogen.GO_OUTPUTS) <= names
