"""The drill's mail server: a loopback aiosmtpd that records, per message, when it arrived and
its Message-ID (one JSON line each), and keeps nothing else.

``python -m tests.drill.smtp_sink --port PORT --out FILE``; stops on SIGTERM.
"""

import argparse
import json
import re
import signal
import threading
import time

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Recorder:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        received = time.time()
        head = envelope.content[:8192]
        found = _MESSAGE_ID.search(head)
        line = {
            "t": received,
            "message_id": found[1].decode() if found else None,
            "recipients": len(envelope.rcpt_tos),
        }
        with self.lock:
            self.out.write(json.dumps(line) + "\n")
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    controller = Controller(Recorder(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on 127.0.0.1:{args.port}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
