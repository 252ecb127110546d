"""The demo site under production settings, on a free local port, for `make audit` and
`make screenshots`.

``config.settings.production`` with a throwaway SQLite database and media folder, static files
collected and served by WhiteNoise as in production, demo content from ``seed_demo``. Only what
a laptop has no way to provide is relaxed: plain HTTP (no TLS proxy), console e-mail, dummy
Stripe keys (nothing is bought). Uploaded media are served by WhiteNoise too.
"""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_like_env(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "EMAIL_URL": "consolemail://",
        "DEFAULT_FROM_EMAIL": "microcourses <hello@example.com>",
        "STRIPE_SECRET_KEY": "sk_test_audit",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_audit",
        "STRIPE_WEBHOOK_SECRET": "whsec_audit",
        "MEDIA_ROOT": str(workdir / "media"),
        # No TLS proxy on a laptop: plain HTTP, no redirect, no HSTS.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def demo_site() -> Iterator[str]:
    """Build the demo site and serve it; yields its base URL and stops it afterwards."""
    with tempfile.TemporaryDirectory(prefix="mc-site-") as folder:
        workdir = Path(folder)
        port = _free_port()
        env = production_like_env(workdir, port)
        manage = [sys.executable, str(ROOT / "manage.py")]
        for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"], ["seed_demo"]):
            subprocess.run(  # noqa: S603 - our own manage.py
                [*manage, *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
            )
        server = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "tests.tools.site_server", str(port)], cwd=ROOT, env=env
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(base_url + "/", timeout=5)  # noqa: S310 - our server
                    break
                time.sleep(0.2)
            yield base_url
        finally:
            server.terminate()
            server.wait(timeout=10)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def serve(port: int) -> None:
    """Serve config.wsgi (with media through WhiteNoise) on ``port`` until stopped."""
    from django.conf import settings
    from whitenoise import WhiteNoise

    from config.wsgi import application

    # autorefresh: renditions are written after start-up, on the first page that shows them.
    app = WhiteNoise(application, autorefresh=True)
    app.add_files(str(settings.MEDIA_ROOT), prefix=settings.MEDIA_URL)
    with make_server("127.0.0.1", port, app, _ThreadingServer, _QuietHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    serve(int(sys.argv[1]))
