"""Loopback ports for the servers tests start (SMTP sinks, runserver, the Stripe emulator)."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server listens on ``host:port`` yet."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
