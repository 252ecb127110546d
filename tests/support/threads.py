"""Real concurrency for tests and benchmarks: threads, each with its own PostgreSQL connection,
that start each round's calls at the same instant."""

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections

# A round that takes longer than this is stuck: fail instead of hanging the suite.
ROUND_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


class LockstepThreads:
    """``size`` worker threads kept for many rounds (one connection each, closed at the end).

    ``run(calls)`` gives call ``i`` to thread ``i``, releases them all together through a
    barrier, and returns each call's outcome (its value or its exception, and how long it took).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._calls: list[Callable[[], Any] | None] = [None] * size
        self._outcomes: list[Outcome] = [Outcome()] * size
        self._start = threading.Barrier(size + 1, timeout=ROUND_TIMEOUT_SECONDS)
        self._done = threading.Barrier(size + 1, timeout=ROUND_TIMEOUT_SECONDS)
        self._threads = [
            threading.Thread(target=self._work, args=(index,), daemon=True) for index in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self, index: int) -> None:
        try:
            while True:
                self._start.wait()
                call = self._calls[index]
                if call is None:
                    return
                began = time.perf_counter()
                try:
                    outcome = Outcome(value=call(), seconds=time.perf_counter() - began)
                except Exception as error:
                    outcome = Outcome(error=error, seconds=time.perf_counter() - began)
                self._outcomes[index] = outcome
                self._done.wait()
        finally:
            # Each thread opened its own connection; leave none behind for the test teardown.
            connections.close_all()

    def run(self, calls: Sequence[Callable[[], Any]]) -> list[Outcome]:
        if len(calls) != self.size:
            raise ValueError(f"{len(calls)} calls for {self.size} threads")
        self._calls = list(calls)
        self._start.wait()
        self._done.wait()
        return list(self._outcomes)

    def close(self) -> None:
        self._calls = [None] * self.size
        # A failed round already broke the barrier and so ended the threads.
        with contextlib.suppress(threading.BrokenBarrierError):
            self._start.wait()
        for thread in self._threads:
            thread.join(ROUND_TIMEOUT_SECONDS)

    def __enter__(self) -> "LockstepThreads":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
