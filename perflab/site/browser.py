"""The system Chromium (Debian's package) that the build and the checks drive; never downloaded."""

from __future__ import annotations

import shutil
import subprocess

from perflab.errors import PerflabError

NAMES = ("chromium", "chromium-browser")
# Flags for a headless Chromium in a container: no sandbox (root), no GPU, nothing that talks
# to Google's servers in the background (the build and the checks stay on 127.0.0.1).
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def executable() -> str:
    """Path of the system Chromium, or a one-line error naming the package to install."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PerflabError("the system Chromium is missing: apt-get install chromium (or make setup)")


def version(path: str) -> str:
    """What `chromium --version` prints, e.g. 'Chromium 156.0.8078.114 built on Debian …'."""
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PerflabError(f"{path} --version failed: {exc}") from None
    line = proc.stdout.strip()
    if proc.returncode != 0 or not line:
        raise PerflabError(f"{path} --version exited {proc.returncode}: {proc.stderr.strip()}")
    return line
