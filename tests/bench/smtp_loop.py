"""The baseline of the e-mail benchmarks: one message sent ``count`` times with plain smtplib.

Run as ``python -m tests.bench.smtp_loop HOST PORT COUNT MESSAGE_FILE`` (its own process, like
the Celery workers it is compared with); prints the seconds the loop took. ``smtp_alone_seconds``
runs it from a benchmark, on one connection or several at once.
"""

import smtplib
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def main() -> None:
    host, port, count, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    message = Path(path).read_bytes()
    start = time.perf_counter()
    with smtplib.SMTP(host, port) as smtp:
        for n in range(count):
            smtp.sendmail("hello@localhost", [f"loop{n}@example.test"], message)
    print(f"{time.perf_counter() - start:.6f}")


def smtp_alone_seconds(
    *, host: str, port: int, count: int, message_file: Path, connections: int = 1, timeout: float
) -> float:
    """Seconds the server takes for ``count`` copies of ``message_file`` over ``connections``
    connections at once, each its own process: the slowest loop's own time (without the
    interpreters' start)."""
    loops = [
        subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [
                sys.executable,
                "-m",
                "tests.bench.smtp_loop",
                host,
                str(port),
                str(count // connections + (1 if n < count % connections else 0)),
                str(message_file),
            ],
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(connections)
    ]
    seconds = []
    for loop in loops:
        output, _ = loop.communicate(timeout=timeout)
        assert loop.returncode == 0, f"the smtplib loop failed ({loop.returncode})"
        seconds.append(float(output.strip()))
    return max(seconds)


if __name__ == "__main__":
    main()
