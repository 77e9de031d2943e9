"""Shared fixtures: the quick-profile site is built once per test session and served on loopback."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output"


def quick_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PERFLAB_PROFILE"] = "quick"
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.update(extra)
    return env


def build_site(site_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)],
        cwd=ROOT,
        env=quick_env(**env),
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole book built with the quick profile into a temporary folder."""
    site = tmp_path_factory.mktemp("site")
    proc = build_site(site)
    if proc.returncode != 0:
        pytest.fail(f"quick-profile build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def served_site(built_site: Path):
    """The built site over HTTP on 127.0.0.1 and a free port; stopped after the session."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
