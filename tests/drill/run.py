"""``make drill``: production on one machine, under load and crashes.

``python -m tests.drill.run [--seconds 180] [--users 16] [--spike 20000]``

Under honcho, with ``config.settings.production``: two gunicorn instances on two loopback ports
(as two web machines), two Celery workers, one beat, the Stripe emulator, a loopback SMTP sink
and moto's S3 server, sharing one PostgreSQL database and one Redis database of the drill's own.
Then a headless locust run of ``--seconds``; midway, web one and worker one are SIGKILLed (their
whole process groups, as if the machine died) and their supervisor loop restarts them. At the
end: the checks (exit status 1 if one fails) and the figures, also in ``var/drill/report.json``.

Services it expects on the machine: PostgreSQL and Redis (``DRILL_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/microcourses_drill``, recreated each run, and
``DRILL_REDIS_URL``, default ``redis://127.0.0.1:6379/15``, flushed each run). locust runs from
its own virtualenv (``var/drill-venv``, made on first use from tests/drill/requirements.txt):
its pytest plugin must not load into the project's test runs.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DRILL_VENV = PROJECT_DIR / "var" / "drill-venv"
PROBE_ANSWER = "PROBE ANSWER "  # how tests/drill/probes.py marks its answers on stdout
REQUIREMENTS = Path(__file__).with_name("requirements.txt")

# The yardstick every page is measured beside (issue #14): a plain view that goes through the
# whole middleware stack as pages do. Not /healthz: the first middleware answers it, skipping
# host checks, sessions, users and routing, so it measured gunicorn rather than Django.
TRIVIAL_VIEW = "/robots.txt"
TRIVIAL_NAME = f"trivial view ({TRIVIAL_VIEW})"
# Issue #14's capacity targets, as a share of the trivial view's req/s with the same cookies.
# Catalog and course are anonymous, as a launch visitor is (the page cache answers them); their
# signed-in figures are printed for information.
CAPACITY_TARGETS = {
    ("lesson page", "signed in"): 0.2,
    ("catalog", "anonymous"): 0.3,
    ("course page", "anonymous"): 0.3,
}


# The send lease (config.mail_delivery.SEND_LEASE, 2 minutes), one dispatcher minute, and time
# to send: how long after a worker's SIGKILL its claimed lessons may still be unsent.
KILLED_WORKER_RECOVERY_SECONDS = 120 + 60 + 30


def _ratio(rps: float, yardstick: float | None) -> float | None:
    return round(rps / yardstick, 3) if yardstick else None


# Lesson e-mails a killed worker may send twice: the rows it sent but had not yet marked
# (courses/dispatch.py, SENT_MARK_GROUP) per send task in hand (concurrency 2).
DUPLICATES_PER_KILLED_WORKER = 2 * 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message: str) -> None:
    print(f"[drill {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Drill:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Path(args.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob("*"):
            if stale.is_file():
                stale.unlink()
        self.ports = {name: free_port() for name in ("web1", "web2", "moto", "smtp", "stripe")}
        self.webs = [
            f"http://127.0.0.1:{self.ports['web1']}",
            f"http://127.0.0.1:{self.ports['web2']}",
        ]
        self.database_url = os.environ.get(
            "DRILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/microcourses_drill"
        )
        self.redis_url = os.environ.get("DRILL_REDIS_URL", "redis://127.0.0.1:6379/15")
        self.bucket = "drill-media"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))},
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "drill-only-4f1c9e2a7b3d5e8f0a1c3e5d7b9f2a4c6e8d0b2f4a6c8e0d",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.webs[0],
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{self.ports['smtp']}",
            "DEFAULT_FROM_EMAIL": "microcourses <hello@example.test>",
            "STRIPE_SECRET_KEY": "sk_test_drill",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_drill",
            "STRIPE_WEBHOOK_SECRET": "whsec_drill",
            "STRIPE_API_BASE": f"http://127.0.0.1:{self.ports['stripe']}",
            # Plain HTTP on loopback: the TLS proxy is not part of the drill.
            "SECURE_SSL_REDIRECT": "false",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['moto']}",
            "AWS_S3_REGION_NAME": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "drill",
            "AWS_SECRET_ACCESS_KEY": "drill",
            "WEB_CONCURRENCY": str(args.web_workers),
            "LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore",
        }
        self.honcho: subprocess.Popen | None = None
        self.probes: subprocess.Popen | None = None
        self.report: dict = {"ports": self.ports, "seconds": args.seconds, "users": args.users}
        self.failures: list[str] = []

    # Set-up

    def manage(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)[:60]} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def start_probes(self) -> None:
        """One ``manage.py shell`` under the production settings runs every probe of
        tests/drill/probes.py in turn: Django starts once, not for each (seconds each time on a
        small machine)."""
        self.probes_log = open(self.out / "probes.log", "wb")  # noqa: SIM115 - closed in stop()
        self.probes = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from tests.drill import probes; probes.serve()",
            ],
            cwd=PROJECT_DIR,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.probes_log,
            text=True,
        )

    def probe(self, name: str, **kwargs) -> dict:
        """Run ``probes.<name>(**kwargs)`` in the probes' shell; its answer."""
        assert self.probes and self.probes.stdin and self.probes.stdout
        self.probes.stdin.write(json.dumps({"probe": name, "kwargs": kwargs}) + "\n")
        self.probes.stdin.flush()
        for line in self.probes.stdout:  # log lines may come first
            if line.startswith(PROBE_ANSWER):
                answer = json.loads(line.removeprefix(PROBE_ANSWER))
                if "error" in answer:
                    raise SystemExit(f"probe {name} failed:\n{answer['error']}")
                return answer
        raise SystemExit(f"the probes' shell stopped during {name}; see {self.out}/probes.log")

    def fresh_database_and_broker(self) -> bool:
        """Recreate the drill's database, from a template made by an earlier run with the same
        migrations and lock file when there is one (migrating and seeding take minutes on a
        small machine). True when the copy came from a template."""
        import hashlib

        import psycopg
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        name = urlsplit(self.database_url).path.lstrip("/")
        digest = hashlib.sha256((PROJECT_DIR / "requirements.lock").read_bytes())
        for path in sorted(PROJECT_DIR.glob("*/migrations/*.py")):
            digest.update(path.read_bytes())
        digest.update((PROJECT_DIR / "home/management/commands/seed_demo.py").read_bytes())
        self.template = f"{name}_tpl_{digest.hexdigest()[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.template]
            ).fetchone()
            if found:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                return True
            conn.execute(f'CREATE DATABASE "{name}"')
        return False

    def collect_static(self) -> None:
        """collectstatic, unless an earlier run collected the same files: the same lock file
        (the packages' static files) and the same ``static/``. It takes a while on a small
        machine (every file hashed and compressed twice, gzip and brotli)."""
        import hashlib

        digest = hashlib.sha256((PROJECT_DIR / "requirements.lock").read_bytes())
        for path in sorted((PROJECT_DIR / "static").rglob("*")):
            digest.update(str(path.relative_to(PROJECT_DIR)).encode())
            if path.is_file():
                digest.update(path.read_bytes())
        stamp = PROJECT_DIR / "staticfiles" / ".collected-for"
        if stamp.exists() and stamp.read_text() == digest.hexdigest():
            log("static files collected by an earlier run with the same sources")
            return
        self.manage("collectstatic", "--no-input")
        stamp.write_text(digest.hexdigest())

    def save_template(self) -> None:
        name = urlsplit(self.database_url).path.lstrip("/")
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.template}" TEMPLATE "{name}"')

    @property
    def admin_url(self) -> str:
        return self.database_url.rsplit("/", 1)[0] + "/postgres"

    def locust_venv(self) -> Path:
        """var/drill-venv with exactly tests/drill/requirements.txt, made again when it changed."""
        locust = DRILL_VENV / "bin" / "locust"
        installed = DRILL_VENV / "installed-requirements.txt"
        wanted = REQUIREMENTS.read_text()
        if not locust.exists() or not installed.exists() or installed.read_text() != wanted:
            log("making var/drill-venv with locust from tests/drill/requirements.txt")
            subprocess.run(  # noqa: S603
                [sys.executable, "-m", "venv", "--clear", str(DRILL_VENV)], check=True
            )
            subprocess.run(  # noqa: S603
                [str(DRILL_VENV / "bin" / "pip"), "install", "-q", "-r", str(REQUIREMENTS)],
                check=True,
            )
            installed.write_text(wanted)
        return locust

    def procfile(self) -> Path:
        run = self.out
        p = self.ports

        def supervised(name: str, command: str) -> str:
            # A supervisor's restart loop; setsid makes each run a process group of its own,
            # which the drill kills whole, like a machine that died.
            return f"{name}: while true; do setsid -w {command}; sleep 1; done"

        lines = [
            f"moto: exec moto_server -H 127.0.0.1 -p {p['moto']}",
            f"smtp: exec python -m tests.drill.smtp_sink --port {p['smtp']} --out {run}/smtp.jsonl",
            f"stripe: exec python manage.py stripe_emulator --port {p['stripe']} "
            f"--webhook-url {self.webs[1]}/payments/stripe/webhook/",
            *(
                supervised(
                    f"web{n}",
                    f"env GUNICORN_BIND=127.0.0.1:{p[f'web{n}']} "
                    "gunicorn -c config/gunicorn.conf.py "
                    f"--pid {run}/web{n}.pid config.wsgi",
                )
                for n in (1, 2)
            ),
            *(
                supervised(
                    f"worker{n}",
                    f"celery -A config worker -n drill{n}@%h --concurrency=2 --loglevel=WARNING "
                    f"--pidfile={run}/worker{n}.pid",
                )
                for n in (1, 2)
            ),
            "beat: exec celery -A config beat --loglevel=WARNING "
            f"--pidfile={run}/beat.pid -s {run}/beat-schedule",
        ]
        path = run / "Procfile"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        log(f"output in {self.out}")
        if self.fresh_database_and_broker():
            log(f"database copied from {self.template} (migrated and seeded by an earlier run)")
        else:
            log("release step: migrate, then seed_demo (saved as a template for later runs)")
            self.manage("migrate", "--no-input")
            # No drawn images: the bucket (moto) starts with honcho, after this step, and
            # starts empty on every run, while this database is kept as a template.
            self.manage("seed_demo", "--no-images")
            self.save_template()
        self.start_probes()  # Django starts in there while the rest starts here
        self.collect_static()
        procfile = self.procfile()
        log("starting honcho: moto, SMTP sink, Stripe emulator, web1, web2, worker1, worker2, beat")
        with open(self.out / "honcho.log", "wb") as honcho_log:
            self.honcho = subprocess.Popen(  # noqa: S603
                [str(BIN / "honcho"), "-f", str(procfile), "-d", str(PROJECT_DIR), "start"],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=honcho_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(lambda: self.http_status(f"{self.env['AWS_S3_ENDPOINT_URL']}/") > 0, "moto")
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.env["AWS_S3_ENDPOINT_URL"],
            region_name="eu-central-1",
            aws_access_key_id="drill",
            aws_secret_access_key="drill",  # moto accepts any
        ).create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        log("drill learners and their sessions")
        self.targets = self.probe("setup", users=self.args.users)
        for web in self.webs:
            self.wait_for(lambda web=web: self.http_status(f"{web}/readyz") == 200, f"{web}/readyz")
        self.wait_for(lambda: self.workers_ready() >= 2, "two workers", timeout=120)
        log("everything is up; the creator uploads the lesson's image and document via web one")

    def workers_ready(self) -> int:
        text = (self.out / "honcho.log").read_text(errors="replace")
        return sum(f"drill{n}@" in text and "ready" in text for n in (1, 2))

    # Helpers

    def http_status(self, url: str, timeout: float = 2) -> int:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, OSError):
            return 0

    def wait_for(self, condition, what: str, timeout: float = 90) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if condition():
                return time.monotonic() - start
            time.sleep(0.25)
        raise SystemExit(f"Timed out waiting for {what}; see {self.out}/honcho.log")

    def kill_group(self, pidfile: str, sig: int = signal.SIGKILL) -> int | None:
        path = self.out / pidfile
        try:
            pid = int(path.read_text().strip())
            os.killpg(pid, sig)
            return pid
        except (OSError, ValueError):
            return None

    # The run

    def load(self) -> None:
        locust = self.locust_venv()
        env = {
            **self.env,
            "DRILL_TARGETS": json.dumps(
                {
                    **self.targets,
                    "webs": self.webs,
                    "trivial_view": {"path": TRIVIAL_VIEW, "name": TRIVIAL_NAME},
                }
            ),
            "DRILL_OUT": str(self.out),
        }
        command = [
            str(locust),
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "--users",
            str(self.args.users),
            "--spawn-rate",
            str(max(1, self.args.users // 4)),
            "--run-time",
            f"{self.args.seconds}s",
            "--csv",
            str(self.out / "locust"),
            "--host",
            self.webs[0],
            "--only-summary",
        ]
        log(f"locust: {self.args.users} visitors for {self.args.seconds} s")
        with open(self.out / "locust.log", "wb") as locust_log:
            process = subprocess.Popen(  # noqa: S603
                command, cwd=PROJECT_DIR, env=env, stdout=locust_log, stderr=subprocess.STDOUT
            )
            # Midway; but not before the load has read each kind of file back through the other
            # web instance (a short run's kill must not hide that check), and by three quarters
            # of the run at the latest.
            started = time.monotonic()
            while time.monotonic() - started < self.args.seconds * 3 / 4 and (
                time.monotonic() - started < self.args.seconds / 2
                or not all(self.reads_through_the_other_web().values())
            ):
                time.sleep(0.5)
            killed_at = time.time()
            web = self.kill_group("web1.pid")
            worker = self.kill_group("worker1.pid")
            log(
                f"SIGKILLed web1 (group {web}) and worker1 (group {worker}); "
                "their supervisor loops restart them"
            )
            back = self.wait_for(
                lambda: self.http_status(f"{self.webs[0]}/readyz") == 200, "web1 back", timeout=120
            )
            log(f"web1 ready again after {back:.1f} s")
            self.report["kill"] = {"at": killed_at, "web1_back_after_s": round(back, 1)}
            process.wait(timeout=self.args.seconds + 120)

    def lesson_files(self) -> None:
        """Before the load: the free course's creator uploads an image and a document through
        web one's admin, and they become the blocks that end the lesson the learners read
        (so its page shows a rendition, and its download goes through the access check)."""
        import hashlib

        import requests

        session = requests.Session()
        session.cookies.set("sessionid", self.targets["creator_session"], domain="127.0.0.1")
        web = self.webs[0]

        def cookies_over_plain_http() -> None:
            # Production marks cookies Secure; the drill speaks plain HTTP on loopback.
            for cookie in session.cookies:
                cookie.secure = False

        session.get(f"{web}/admin/documents/multiple/add/", timeout=30)  # the CSRF cookie
        cookies_over_plain_http()
        handout = b"The drill's lesson handout, uploaded through web one.\n"
        uploads = {
            "documents": (
                "doc_id",
                self.targets["creator_documents_collection_id"],
                ("drill-handout.txt", handout, "text/plain"),
            ),
            "images": (
                "image_id",
                self.targets["creator_images_collection_id"],
                (
                    "drill-picture.png",
                    (PROJECT_DIR / "static/img/icon-192.png").read_bytes(),
                    "image/png",
                ),
            ),
        }
        ids = {}
        for kind, (id_key, collection, file) in uploads.items():
            response = session.post(
                f"{web}/admin/{kind}/multiple/add/",
                data={
                    "collection": collection,
                    "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
                },
                files={"files[]": file},
                timeout=60,
            )
            cookies_over_plain_http()  # a page with a form sets the CSRF cookie again
            answer = response.json() if response.ok else {}
            if not answer.get("success"):
                raise SystemExit(
                    f"Uploading the lesson's {kind[:-1]} through web one failed: "
                    f"{response.status_code} {response.text[:300]}"
                )
            ids[id_key] = answer[id_key]
        added = self.probe(
            "add_to_lesson",
            lesson_id=self.targets["lesson_id"],
            document_id=ids["doc_id"],
            image_id=ids["image_id"],
        )
        self.targets["lesson_download_url"] = added["download_url"]
        self.targets["lesson_download_sha256"] = hashlib.sha256(handout).hexdigest()

    def wait_for_due_lessons(self) -> None:
        import psycopg

        def pending_due() -> int:
            # Straight SQL: a poll through ``manage.py shell`` would spend seconds starting Django.
            with psycopg.connect(self.database_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM courses_lessondelivery "
                    "WHERE status IN ('pending', 'sending') AND due_at <= now()"
                ).fetchone()
            return row[0] if row else 0

        # Lessons the SIGKILLed worker had claimed stay its own until their lease runs out; the
        # next minute's dispatcher then claims them again. Counted from the kill, not from now.
        timeout = 150.0
        killed_at = self.report.get("kill", {}).get("at")
        if killed_at:
            timeout = max(timeout, killed_at + KILLED_WORKER_RECOVERY_SECONDS - time.time())
        try:
            waited = self.wait_for(
                lambda: pending_due() == 0, "due lessons e-mailed", timeout=timeout
            )
            self.report["due_lessons_all_sent_after_s"] = round(waited, 1)
        except SystemExit as timeout:
            self.failures.append(str(timeout))

    def spike(self) -> None:
        """``--spike`` learners due in the same minute: the time until the SMTP server has them
        all, beside the time the SMTP server alone needs for as many ready-made messages."""
        n = self.args.spike
        if not n:
            return
        log(f"spike: {n} lesson e-mails due at once")
        made = self.probe("spike", learners=n, out=str(self.out))
        ids = set(made["message_ids"])
        started = made["due_from"]
        arrivals: dict[str, float] = {}

        def all_arrived() -> bool:
            for line in (self.out / "smtp.jsonl").read_text().splitlines():
                entry = json.loads(line)
                if entry["message_id"] in ids:
                    arrivals.setdefault(entry["message_id"], entry["t"])
            return len(arrivals) >= len(ids)

        try:
            self.wait_for(all_arrived, f"{n} spike e-mails", timeout=max(300, n / 10))
        except SystemExit as timeout:
            self.failures.append(str(timeout))
        lags = sorted(t - started for t in arrivals.values())
        loop = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "tests.bench.smtp_loop",
                "127.0.0.1",
                str(self.ports["smtp"]),
                str(n),
                made["message_file"],
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        self.report["spike"] = {
            "learners": n,
            "arrived": len(lags),
            "lag_p50_s": round(statistics.median(lags), 1) if lags else None,
            "lag_max_s": round(lags[-1], 1) if lags else None,
            "smtp_alone_s": round(float(loop.stdout.strip()), 1),
        }

    def checks(self) -> None:
        log("end checks")
        state = self.probe("checks", out=str(self.out))
        self.report["state"] = state
        if state["paid_orders_not_enrolled_once"]:
            self.failures.append(
                f"paid orders not enrolled exactly once: {state['paid_orders_not_enrolled_once']}"
            )
        if state["oversold_workshops"]:
            self.failures.append(f"oversold: {state['oversold_workshops']}")
        if state["pending_due"]:
            self.failures.append(f"{state['pending_due']} due lessons not e-mailed")
        bound = DUPLICATES_PER_KILLED_WORKER
        if state["duplicate_lesson_emails"] > bound:
            self.failures.append(
                f"{state['duplicate_lesson_emails']} duplicate lesson e-mails (bound {bound})"
            )
        errors = []
        if (self.out / "5xx.jsonl").exists():
            errors = [
                json.loads(line) for line in (self.out / "5xx.jsonl").read_text().splitlines()
            ]
        # Requests in flight on the killed instance may fail; any other 5xx is a bug.
        killed = self.report.get("kill", {}).get("at", 0)
        unexplained = [
            e
            for e in errors
            if not (e["url"].startswith(self.webs[0]) and killed - 1 <= e["t"] <= killed + 35)
        ]
        self.report["5xx"] = {"total": len(errors), "unexplained": unexplained[:20]}
        if unexplained:
            self.failures.append(f"{len(unexplained)} 5xx responses, e.g. {unexplained[:3]}")
        self.file_checks()

    def file_reads(self) -> list[dict]:
        """What the visitors uploaded and read back (tests/drill/locustfile.py), so far."""
        path = self.out / "file_reads.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def reads_through_the_other_web(self) -> dict[str, int]:
        """Per kind of file, how many came back intact through the other web instance."""
        counts = dict.fromkeys(("document", "image", "lesson download"), 0)
        for read in self.file_reads():
            if read["ok"] and read["read_via"] != read["uploaded_via"]:
                counts[read["kind"]] += 1
        return counts

    def file_checks(self) -> None:
        """Every file the load uploaded came back, byte for byte, through the other web instance
        too: the creator's documents and images, and the learners' lesson download (uploaded
        through web one). Only what touched web one around its kill may have failed."""
        kill = self.report.get("kill", {})
        down_from = kill.get("at", 0) - 1
        down_until = kill.get("at", 0) + kill.get("web1_back_after_s", 0) + 5

        def around_the_kill(read: dict) -> bool:
            touched_web1 = 1 in (read["uploaded_via"], read["read_via"])
            return touched_web1 and down_from <= read["t"] <= down_until

        summary: dict[str, dict[str, int]] = {}
        for read in self.file_reads():
            figures = summary.setdefault(read["kind"], {"ok": 0, "failed": 0})
            if read["ok"]:
                figures["ok"] += 1
            elif not around_the_kill(read):
                figures["failed"] += 1
                self.failures.append(f"file read failed: {read}")
        crossed = self.reads_through_the_other_web()
        for kind, count in crossed.items():
            summary.setdefault(kind, {"ok": 0, "failed": 0})["ok_through_other_web"] = count
        self.report["file_reads"] = summary
        self.report["upload_through_one_web_read_through_the_other"] = all(crossed.values())
        if not all(crossed.values()):
            self.failures.append(f"no file read back through the other web instance: {crossed}")

    def figures(self) -> None:
        import csv

        rows = list(csv.DictReader(open(self.out / "locust_stats.csv")))  # noqa: SIM115
        pages = {}
        for row in rows:
            if row["Name"] == "Aggregated":
                continue
            pages[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 2),
                "p50_ms": row["50%"],
                "p95_ms": row["95%"],
                "p99_ms": row["99%"],
            }
        self.report["pages"] = pages
        trivial = pages.get(TRIVIAL_NAME, {}).get("rps") or 0
        # Per request, not per second of the run: pages are asked for at different rates, so
        # the comparable figure is the latency ratio (a page's service rate beside the
        # trivial view's) under the same load.
        ratios = {}
        trivial_p50 = float(pages.get(TRIVIAL_NAME, {}).get("p50_ms") or 0) or None
        for name, page in pages.items():
            p50 = float(page["p50_ms"] or 0)
            if trivial_p50 and p50:
                ratios[name] = round(trivial_p50 / p50, 3)
        self.report["trivial_rps"] = trivial
        self.report["service_rate_vs_trivial"] = ratios

    def capacity(self) -> None:
        """Requests per second each page sustains on web two, one page at a time, with as many
        keep-alive clients as it has gunicorn workers plus two (so a worker never waits for
        a client), beside the trivial view in the same run.

        Each cookie state has its own trivial figure, measured just before its pages: without
        a cookie (home, catalog, course, which the page cache answers, as for a launch visitor)
        and with a signed-in learner's session (catalog, course, lesson), so that loading the
        session and the user is in both sides of each ratio. Targets are recorded, not checked:
        the machine may be busy with other work.
        """
        import http.client
        import threading

        seconds = self.args.capacity_seconds
        if not seconds:
            return
        log(f"capacity: each page alone on web two for {seconds} s")
        host, port = "127.0.0.1", self.ports["web2"]
        catalog, course = "/courses/", self.targets["free_course_url"]
        states = {
            "anonymous": ({}, [("home", "/"), ("catalog", catalog), ("course page", course)]),
            "signed in": (
                {"Cookie": f"sessionid={self.targets['sessions'][0]}"},
                [
                    ("catalog", catalog),
                    ("course page", course),
                    ("lesson page", self.targets["lesson_url"]),
                ],
            ),
        }
        clients = self.args.web_workers + 2

        def measure(path: str, headers: dict[str, str]) -> dict:
            counts = [0] * clients
            bad = [0] * clients
            hits = [0] * clients
            stop_at = time.monotonic() + seconds

            def hammer(i: int) -> None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                while time.monotonic() < stop_at:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        counts[i] += 1
                    else:
                        bad[i] += 1
                    hits[i] += response.getheader("X-Page-Cache") == "hit"
                conn.close()

            threads = [threading.Thread(target=hammer, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return {
                "rps": round(sum(counts) / seconds, 1),
                "non_200": sum(bad),
                "page_cache_hits": sum(hits),
            }

        results = {}
        anonymous_trivial_rps = None
        for state, (headers, pages) in states.items():
            trivial = measure(TRIVIAL_VIEW, headers)
            # The stricter yardstick for every page, signed in or not: the trivial view as an
            # anonymous visitor gets it (no session, no user), as the page benchmark uses.
            anonymous_trivial_rps = anonymous_trivial_rps or trivial["rps"]
            results[f"{TRIVIAL_NAME}, {state}"] = {
                "page": TRIVIAL_NAME,
                "cookies": state,
                **trivial,
                "vs_trivial": 1.0 if trivial["rps"] else None,
                "vs_anonymous_trivial": _ratio(trivial["rps"], anonymous_trivial_rps),
                "target": None,
                "target_met": None,
            }
            for page, path in pages:
                figures = measure(path, headers)
                ratio = round(figures["rps"] / trivial["rps"], 3) if trivial["rps"] else None
                target = CAPACITY_TARGETS.get((page, state))
                results[f"{page}, {state}"] = {
                    "page": page,
                    "cookies": state,
                    **figures,
                    "vs_trivial": ratio,
                    "vs_anonymous_trivial": _ratio(figures["rps"], anonymous_trivial_rps),
                    "target": target,
                    "target_met": None if target is None or ratio is None else ratio >= target,
                }
        self.report["capacity"] = results
        self.report["capacity_targets_met"] = {
            name: figures["target_met"]
            for name, figures in results.items()
            if figures["target"] is not None
        }

    def stop(self) -> None:
        log("stopping")
        if self.probes is not None:
            self.probes.kill()
            self.probes.wait()
            self.probes_log.close()
        if self.honcho and self.honcho.poll() is None:
            os.killpg(self.honcho.pid, signal.SIGTERM)
            try:
                self.honcho.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.honcho.pid, signal.SIGKILL)
        for pidfile in ("web1.pid", "web2.pid", "worker1.pid", "worker2.pid"):
            self.kill_group(pidfile, signal.SIGTERM)
        time.sleep(2)
        for pidfile in ("web1.pid", "web2.pid", "worker1.pid", "worker2.pid"):
            self.kill_group(pidfile, signal.SIGKILL)

    def print_report(self) -> None:
        (self.out / "report.json").write_text(json.dumps(self.report, indent=2, default=str))
        print()
        print(
            f"{'page':32} {'reqs':>6} {'fail':>5} {'req/s':>7} "
            f"{'p50':>6} {'p95':>6} {'p99':>6} {'vs trivial':>10}"
        )
        for name, page in sorted(self.report.get("pages", {}).items()):
            ratio = self.report["service_rate_vs_trivial"].get(name, "")
            print(
                f"{name[:32]:32} {page['requests']:>6} {page['failures']:>5} {page['rps']:>7} "
                f"{page['p50_ms']:>6} {page['p95_ms']:>6} {page['p99_ms']:>6} {ratio!s:>10}"
            )
        state = self.report.get("state", {})
        print()
        for key in (
            "paid_orders",
            "enrollments",
            "confirmed_seats",
            "lesson_emails_received",
            "duplicate_lesson_emails",
            "lesson_lag_p50_s",
            "lesson_lag_p95_s",
            "lesson_lag_max_s",
        ):
            print(f"{key:32} {state.get(key)}")
        if "capacity" in self.report:
            print()
            print(
                f"{'capacity (web two alone)':40} {'req/s':>7} {'vs trivial':>10} "
                f"{'target':>6} {'met':>4} {'vs anon':>8} {'non-200':>8} {'cache hits':>10}"
            )
            for name, figures in self.report["capacity"].items():
                met = {True: "yes", False: "no", None: ""}[figures["target_met"]]
                print(
                    f"{name:40} {figures['rps']:>7} {figures['vs_trivial']!s:>10} "
                    f"{figures['target'] or '':>6} {met:>4} "
                    f"{figures['vs_anonymous_trivial']!s:>8} {figures['non_200']:>8} "
                    f"{figures['page_cache_hits']:>10}"
                )
            print()
        for kind, figures in self.report.get("file_reads", {}).items():
            print(
                f"{kind:32} {figures['ok']} read back ({figures.get('ok_through_other_web', 0)} "
                f"through the other web instance), {figures['failed']} failed"
            )
        print(
            f"{'5xx (total / unexplained)':32} {self.report.get('5xx', {}).get('total')} / "
            f"{len(self.report.get('5xx', {}).get('unexplained', []))}"
        )
        print(
            f"{'web1 back after kill (s)':32} "
            f"{self.report.get('kill', {}).get('web1_back_after_s')}"
        )
        if "spike" in self.report:
            print(f"{'spike':32} {self.report['spike']}")
        print()
        if self.failures:
            print("DRILL FAILED:")
            for failure in self.failures:
                print(f"  - {failure}")
        else:
            print("DRILL PASSED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180, help="length of the locust run")
    parser.add_argument("--users", type=int, default=16, help="concurrent locust visitors")
    parser.add_argument("--spike", type=int, default=20000, help="learners due at once (0: skip)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per web")
    parser.add_argument(
        "--capacity-seconds", type=int, default=10, help="per page, at the end (0: skip)"
    )
    parser.add_argument("--out", default=str(PROJECT_DIR / "var" / "drill"))
    drill = Drill(parser.parse_args())
    try:
        drill.start()
        drill.lesson_files()
        drill.load()
        # The spike first: its e-mails and the visitors' due lessons go out at the same beat
        # tick, so the drill waits for one tick, not two.
        drill.spike()
        drill.wait_for_due_lessons()
        drill.checks()
        drill.figures()
        drill.capacity()
    finally:
        drill.stop()
    drill.print_report()
    sys.exit(1 if drill.failures else 0)


if __name__ == "__main__":
    main()
