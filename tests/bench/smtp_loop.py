"""The baseline of the e-mail benchmark: one message sent ``count`` times with plain smtplib.

Run as ``python -m tests.bench.smtp_loop HOST PORT COUNT MESSAGE_FILE`` (its own process, like
the Celery workers it is compared with); prints the seconds the loop took.
"""

import smtplib
import sys
import time
from pathlib import Path


def main() -> None:
    host, port, count, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    message = Path(path).read_bytes()
    start = time.perf_counter()
    with smtplib.SMTP(host, port) as smtp:
        for n in range(count):
            smtp.sendmail("hello@localhost", [f"loop{n}@example.test"], message)
    print(f"{time.perf_counter() - start:.6f}")


if __name__ == "__main__":
    main()
