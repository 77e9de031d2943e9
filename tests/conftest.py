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
from engine_fixtures import TmpBook

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


def perflab_cli(*args: str) -> None:
    """Run `python -m perflab ARGS` from the repo root in the quick profile; it must succeed."""
    proc = subprocess.run(
        [sys.executable, "-m", "perflab", *args],
        cwd=ROOT,
        env=quick_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def pytest_addoption(parser: pytest.Parser) -> None:
    # 发布工作流用它检查刚构建好的 full 档站点（链接、锚点、第三方主机），不再另建一次
    parser.addoption(
        "--site-dir",
        default=None,
        help="check this already-built site instead of building the quick profile",
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """The whole book built with the quick profile into a temporary folder (or --site-dir)."""
    given = pytestconfig.getoption("--site-dir")
    if given:
        site = Path(given).resolve()
        if not (site / "index.html").is_file():
            pytest.fail(f"--site-dir {site} holds no built site (no index.html)")
        return site
    site = tmp_path_factory.mktemp("site")
    proc = build_site(site)
    if proc.returncode != 0:
        pytest.fail(f"quick-profile build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    build_log(site).write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return site


def build_log(site: Path) -> Path:
    """Where `built_site` keeps everything its build printed (beside the site, not in it)."""
    return site.parent / f"{site.name}.build.log"


class _CountingWriter:
    """Counts the bytes (headers and body) written to one connection."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.count = 0

    def write(self, data) -> int:
        self.count += len(data)
        return self.raw.write(data)

    def __getattr__(self, name: str):
        return getattr(self.raw, name)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    # Every answered request as (path, status, bytes sent incl. headers); page-weight tests read it.
    served: list[tuple[str, int, int]] = []  # noqa: RUF012

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def setup(self) -> None:
        super().setup()
        self.wfile = _CountingWriter(self.wfile)

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def handle_one_request(self) -> None:
        before = self.wfile.count
        self._status = 0
        super().handle_one_request()
        if self._status:
            self.served.append((self.path, self._status, self.wfile.count - before))


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
def served_log(served_site: str) -> list[tuple[str, int, int]]:
    """What `served_site` has answered so far: (path, status, bytes sent), in order."""
    return _QuietHandler.served


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium driven by Playwright (sync API); never downloads a browser.

    A missing Chromium or Playwright fails the test that needs it: browser tests are part of
    the suite, not optional extras.
    """
    import shutil

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("browser tests need the system Chromium: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.fail(f"browser tests need Playwright for Python (pip install playwright): {err}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tmp_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpBook:
    """A throwaway registry, claims file, example and cache; the engine is pointed at them."""
    return TmpBook(tmp_path, monkeypatch)
