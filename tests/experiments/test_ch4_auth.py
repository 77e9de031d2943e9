"""Chapter 4.1 · the authentication service: every server answers right (status, content type,
body), both implementations reject every attack, the article's pattern is recorded as it is,
the driver's servers are always stopped, and relations that must hold in the quick build."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jwt
import pytest
from book_helpers import measured, run_example, run_example_process
from conftest import ROOT
from processes import process_gone

from perflab import gobuild, paths

BENCH = ROOT / "examples/ch4/auth_bench.py"
ATTACKS = (
    "missing",
    "malformed",
    "bad_signature",
    "expired",
    "alg_none",
    "other_alg",
    "key_confusion",
    "source_literal",
)


@pytest.fixture(scope="module")
def modules():
    """examples/ch4/auth_bench.py and auth_server.py imported as modules."""
    sys.path.insert(0, str(ROOT / "examples/ch4"))
    try:
        import auth_bench
        import auth_server
    finally:
        sys.path.remove(str(ROOT / "examples/ch4"))
    return auth_bench, auth_server


@pytest.fixture(scope="module")
def binaries() -> dict[str, Path]:
    return {
        "go": gobuild.build(paths.resolve("go-examples/ch4/auth"), "test auth"),
        "article": gobuild.build(paths.resolve("go-examples/ch4/auth_article"), "test article"),
    }


def _args(server: str, binaries: dict[str, Path]) -> list[str]:
    return ["--server", server] + (
        ["--go-binary", str(binaries[server])] if server in binaries else []
    )


def test_attack_list_is_complete(modules):
    auth_bench, _ = modules
    for server in ("python", "article"):
        cases = auth_bench.attack_cases(auth_bench.deploy(server))
        assert [c[0] for c in cases] == ["valid", *ATTACKS]
        tokens = dict((c[0], c[2]) for c in cases)
        assert tokens["missing"] is None
        # the headers say what each attack claims to be
        header = {
            k: jwt.get_unverified_header(t)["alg"] for k, t in tokens.items() if t and "." in t
        }
        assert header["alg_none"] == "none" and tokens["alg_none"].endswith(".")
        assert header["key_confusion"] == "HS256" and header["source_literal"] == "HS256"
        assert header["other_alg"] == ("RS512" if server == "python" else "HS512")


# ---------------------------------------- Python：Flask 应用本身（不经 gunicorn）


@pytest.fixture(scope="module")
def python_app(modules, tmp_path_factory):
    auth_bench, auth_server = modules
    folder = tmp_path_factory.mktemp("auth-python")
    dep = auth_bench.deploy("python")
    config = auth_bench.write_files(dep, folder)
    app = auth_server.create_app(str(config))
    return dep, config, app.test_client(), auth_server


def test_python_answers_every_case_with_status_type_and_body(modules, python_app):
    auth_bench, _ = modules
    dep, _, client, _ = python_app
    for case, _label, token in auth_bench.attack_cases(dep):
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        resp = client.get("/api/profile", headers=headers)
        assert resp.mimetype == "application/json", case
        if case == "valid":
            assert resp.status_code == 200
            assert resp.get_json() == {"sub": auth_bench.SUBJECT, "scope": auth_bench.SCOPE}
        else:
            assert resp.status_code == 401, case
            body = resp.get_json()
            assert body["error"] == ("missing_token" if case == "missing" else "invalid_token")
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")


# PyJWT must reject each attack for its own reason, not by accident (say, a missing claim)
REASONS = {
    "malformed": jwt.DecodeError,
    "bad_signature": jwt.InvalidSignatureError,
    "expired": jwt.ExpiredSignatureError,
    "alg_none": jwt.InvalidAlgorithmError,
    "other_alg": jwt.InvalidAlgorithmError,
    "key_confusion": jwt.InvalidAlgorithmError,
    "source_literal": jwt.InvalidAlgorithmError,
}


def test_python_rejects_each_attack_for_its_reason(modules, python_app):
    auth_bench, _ = modules
    dep, config, _, auth_server = python_app
    verify = auth_server.make_verifier(auth_server.load_config(config))
    cases = {c[0]: c[2] for c in auth_bench.attack_cases(dep)}
    assert verify(cases["valid"])["sub"] == auth_bench.SUBJECT
    for case, reason in REASONS.items():
        with pytest.raises(reason):
            verify(cases[case])


def test_python_config_errors_name_the_cause(modules, tmp_path: Path):
    _, auth_server = modules
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"algorithm": "HS256", "public_key_file": "x", "issuer": "i"}))
    with pytest.raises(ValueError, match="lacks audience"):
        auth_server.load_config(cfg)
    cfg.write_text(
        json.dumps({"algorithm": "HS256", "public_key_file": "x", "issuer": "i", "audience": "a"})
    )
    with pytest.raises(ValueError, match="only RSA algorithms"):
        auth_server.load_config(cfg)


# ---------------------------------------- 真实服务器：gunicorn 与两个 Go 二进制


@pytest.fixture(scope="module")
def matrices(binaries) -> dict[str, dict]:
    """The driver's security matrix against each real server, no load."""
    return {
        server: run_example(BENCH, *_args(server, binaries), "--matrix-only")
        for server in ("python", "go", "article")
    }


@pytest.mark.parametrize("server", ["python", "go"])
def test_implementations_reject_every_attack(matrices, server: str):
    out = matrices[server]
    rows = {r["case"]: r for r in out["info"]["matrix"]}
    assert list(rows) == ["valid", *ATTACKS]
    assert rows["valid"]["status"] == 200 and rows["valid"]["accepted"]
    assert rows["valid"]["body"] == {"sub": "user-42", "scope": "profile:read"}
    for case in ATTACKS:
        r = rows[case]
        assert r["status"] == 401 and not r["accepted"], (server, case, r)
        assert r["content_type"].split(";")[0] == "application/json", (server, case)
        assert r["json_body"] and set(r["body"]) == {"error", "detail"}, (server, case)
    assert out["metrics"]["attacks_accepted"]["values"] == [0]
    assert out["info"]["algorithm"] == "RS256"
    assert out["info"]["config_keys"] == ["algorithm", "audience", "issuer", "public_key_file"]


def test_both_languages_answer_alike(matrices):
    """Same statuses, content types and bodies from Python and Go, case by case."""
    py, go = ({r["case"]: r for r in matrices[s]["info"]["matrix"]} for s in ("python", "go"))
    for case in py:
        for field in ("status", "content_type", "body"):
            assert py[case][field] == go[case][field], (case, field)


def test_article_pattern_outcomes_are_recorded(matrices):
    out = matrices["article"]
    rows = {r["case"]: r for r in out["info"]["matrix"]}
    assert rows["valid"]["status"] == 200
    through = {case for case in ATTACKS if rows[case]["accepted"]}
    # one literal secret for every algorithm and no method check: another HMAC algorithm with
    # that secret passes, and so does anyone who read the secret in the source; golang-jwt v5
    # still refuses alg none, and there is no RSA key to confuse
    assert through == {"other_alg", "source_literal"}
    assert rows["source_literal"]["body"]["scope"] == "admin"  # the forged claim came through
    assert out["metrics"]["attacks_accepted"]["values"] == [len(through)]
    for case in set(ATTACKS) - through:
        assert rows[case]["status"] == 401, case
        assert rows[case]["content_type"] == "application/json", case
        assert rows[case]["body"] == {"error": "unauthorized"}, case


@pytest.mark.parametrize("server", ["python", "go", "article"])
def test_server_is_stopped_after_the_run(matrices, server: str):
    info = matrices[server]["info"]
    assert process_gone(info["server_pid"], wait_s=5), f"{server}: {info['server_pid']} still runs"


def test_python_runs_under_gunicorn_workers(matrices):
    info = matrices["python"]["info"]
    assert info["workers"] == info["server_cpus"]


def test_must_reject_fails_the_article_pattern_in_one_line(binaries):
    proc = run_example_process(BENCH, *_args("article", binaries), "--matrix-only", "--must-reject")
    assert proc.returncode != 0 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "attack other_alg got 200" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "go"], "--go-binary"),
        (["--connections", "ten"], "--connections"),
        (["--duration", "0"], "--duration"),
    ],
)
def test_bad_input_fails_with_one_line(args: list[str], message: str):
    proc = run_example_process(BENCH, *args, "--matrix-only")
    assert proc.returncode != 0 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr


def test_load_shape_counts_only_good_responses(binaries):
    out = run_example(BENCH, *_args("go", binaries), "--connections", "2,4", "--duration", "1",
                      "--warmup", "0", "--must-reject")  # fmt: skip
    names = {f"{k}_c{c}" for k in ("rps", "mean", "p99", "error_share") for c in (2, 4)}
    assert set(out["metrics"]) == names | {"attacks_accepted"}
    for c in (2, 4):
        m = {k: out["metrics"][f"{k}_c{c}"] for k in ("rps", "mean", "p99", "error_share")}
        assert m["mean"]["unit"] == "s" and m["error_share"]["unit"] == "%"
        assert m["rps"]["values"][0] > 0 and m["error_share"]["values"][0] == 0
        assert m["mean"]["values"][0] <= m["p99"]["values"][0]
    for level in out["info"]["load"]:
        assert level["good"] > 0 and level["failed"] == 0 and level["generator"] == "wrk"
        assert set(level["statuses"]) == {"200"}  # every answer under load was authenticated
    assert process_gone(out["info"]["server_pid"], wait_s=5)


# ---------------------------------------------------------------- quick 档构建出的结果


def test_quick_build_relations(built_site: Path):
    m = measured(built_site, "ch4.auth")
    levels = sorted(int(k.rsplit("_c", 1)[1]) for k in m if k.startswith("python.rps_c"))
    assert len(levels) >= 3
    assert m["python.attacks_accepted"] == 0 and m["go.attacks_accepted"] == 0
    assert m["article.attacks_accepted"] >= 1
    for c in levels:
        # paired ratios exist for every level and agree in direction with the medians
        assert (m[f"go.rps_vs_python_c{c}"] > 1) == (m[f"go.rps_c{c}"] > m[f"python.rps_c{c}"])
        assert m[f"python.mean_vs_go_c{c}"] > 0
    # a sync worker serves one connection at a time: more connections queue, so Python's mean
    # latency grows from the fewest to the most connections
    assert m[f"python.mean_c{levels[-1]}"] > m[f"python.mean_c{levels[0]}"]


def test_claims_are_judged_over_connections(built_site: Path):
    doc = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))
    claims = {c["id"]: c for c in doc["claims"] if c["experiment"] == "ch4.auth"}
    assert set(claims) == {"ch4.auth.qps", "ch4.auth.latency"}
    for c in claims.values():
        assert c["verdict"] in ("holds", "does-not-hold", "depends")
        assert c["sweep"] is not None and len(c["points"]) >= 3, c["id"]
    assert all("_vs_" in p["metric"] for c in claims.values() for p in c["points"])


def test_wrk_refuses_a_header_that_would_smuggle_another():
    from perflab import services
    from perflab.errors import PerflabError

    with pytest.raises(PerflabError, match="malformed"):
        services.wrk(
            "http://127.0.0.1:9/x",
            target="t",
            connections=1,
            duration_s=1,
            headers={"Authorization": "Bearer x\r\nX-Admin: 1"},
        )
