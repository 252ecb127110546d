"""Headless Chromium for the browser journeys (driven by Playwright).

The browser is Debian's Chromium by default; set ``CHROMIUM_PATH`` to use another build (a
distribution that installs it elsewhere, or Playwright's own download).
"""

import os

DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"

# Flags a root container without a GPU needs; the machine has no internet, so Chromium must
# not try to phone home either.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The Chromium executable: ``CHROMIUM_PATH`` if set (and not empty), else Debian's."""
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM_PATH


def chromium_launch_args(base: dict) -> dict:
    """Playwright's launch arguments for headless Chromium at ``chromium_path()``."""
    return {**base, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}
