"""Waiting for something that another thread or process does."""

import time
from collections.abc import Callable


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = 10.0,
    what: str = "the condition",
    poll: float = 0.02,
) -> None:
    """Poll ``condition`` until it is truthy; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    # One last look: the condition may have come true during the final sleep.
    if condition():
        return
    raise AssertionError(f"Timed out after {timeout:g} s waiting for {what}")
