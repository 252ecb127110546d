"""The drill's visitors (run by locust in its own virtualenv: see tests/drill/run.py).

Signed-in learners (sessions made by the drill's setup, so that login rate limits don't turn
into the test) first enrol in the free course, read its lesson and download the lesson's
document (uploaded through web one before the run: the access check, then the presigned S3
URL), buy the paid course through the Stripe emulator's checkout page (whose webhook then
reaches the site) and take a seat at the free workshop; then they browse the catalog, the
course, the workshops, their dashboard and the lesson again. A few anonymous visitors browse and
sign up. Half the visitors use web one, half web two, as a load balancer would spread them (and,
like its health check, sends a visitor to the other for a while when its own stops answering).
The course's creator, in the Wagtail admin, uploads a document and an image through one web
instance and reads each back through the other.

Every response with a 5xx status is recorded by page and time in ``DRILL_OUT/5xx.jsonl``, and
every file read (what was uploaded through which web, read through which, and whether the bytes
came back) in ``DRILL_OUT/file_reads.jsonl``.
"""

import hashlib
import itertools
import json
import os
import random
import re
import struct
import time
import zlib

from locust import HttpUser, between, events, task

TARGETS = json.loads(os.environ["DRILL_TARGETS"])
WEBS: list[str] = TARGETS["webs"]
OUT = os.environ["DRILL_OUT"]
# How long a visitor stays on the other web instance after its own refused a connection.
FAILOVER_SECONDS = 10
_sessions = itertools.count()
_visitors = itertools.count()
# A rendition's address in the admin's image page (a public object in the bucket).
_RENDITION_SRC = re.compile(r'<img[^>]* src="(https?://[^"]*/images/[^"]+)"')


def web_index(url: str) -> int:
    return next(n for n, web in enumerate(WEBS) if url.startswith(web))


def record_file_read(kind: str, *, uploaded_via: int, read_via: int | None, ok: bool, detail=""):
    """One line of ``file_reads.jsonl``: web numbers are 1 and 2, as in the drill's output."""
    with open(f"{OUT}/file_reads.jsonl", "a") as out:
        line = {
            "t": time.time(),
            "kind": kind,
            "uploaded_via": uploaded_via + 1,
            "read_via": None if read_via is None else read_via + 1,
            "ok": ok,
            "detail": str(detail)[:200],
        }
        out.write(json.dumps(line) + "\n")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG (locust's virtualenv has no Pillow)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@events.request.add_listener
def record_server_errors(
    request_type,
    name,
    response_time,
    response_length,
    response=None,
    exception=None,
    context=None,
    **kwargs,
):
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        with open(f"{OUT}/5xx.jsonl", "a") as out:
            out.write(
                json.dumps(
                    {
                        "t": time.time(),
                        "name": name,
                        "status": status,
                        "url": getattr(response, "url", ""),
                    }
                )
                + "\n"
            )


class Visitor(HttpUser):
    abstract = True
    wait_time = between(0.2, 1.5)

    def on_start(self):
        n = next(_visitors)
        self.home_web = WEBS[n % len(WEBS)]
        self.failed_over_until = 0.0

    @property
    def base(self):
        """The visitor's web instance; the other one for a while after it refused a connection,
        as a load balancer's health check would send them (rather than have the visitor
        hammer a dead instance, which would fill the figures with refused connections)."""
        if time.time() < self.failed_over_until:
            return next(web for web in WEBS if web != self.home_web)
        return self.home_web

    def get(self, path, name, **kwargs):
        return self._call("get", path, name, **kwargs)

    def post(self, path, name, data=None, **kwargs):
        data = dict(data or {})
        data["csrfmiddlewaretoken"] = self.client.cookies.get("csrftoken", "")
        return self._call("post", path, name, data=data, **kwargs)

    def _call(self, method, path, name, **kwargs):
        url = path if path.startswith("http") else self.base + path
        response = getattr(self.client, method)(url, name=name, allow_redirects=False, **kwargs)
        if response.status_code == 0 and url.startswith(self.home_web):  # no answer at all
            self.failed_over_until = time.time() + FAILOVER_SECONDS
        # Production marks cookies Secure; the drill speaks plain HTTP on loopback (the TLS proxy
        # is not part of it), so hand them back as a browser behind the proxy would.
        for cookie in self.client.cookies:
            cookie.secure = False
        return response

    def read_document(self, url, *, expected_sha256, kind, uploaded_via):
        """A document through a web instance: the access check answers with a redirect to a
        presigned S3 URL, whose bytes must be the uploaded ones."""
        read_via = web_index(url)
        refused_or_sent = self.get(url, f"{kind} (access check)")
        location = refused_or_sent.headers.get("Location", "")
        if refused_or_sent.status_code != 302 or not location.startswith("http"):
            detail = f"access check answered {refused_or_sent.status_code} {location[:80]}"
            record_file_read(
                kind, uploaded_via=uploaded_via, read_via=read_via, ok=False, detail=detail
            )
            return
        body = self.client.get(location, name="S3: presigned document").content
        ok = hashlib.sha256(body).hexdigest() == expected_sha256
        record_file_read(
            kind, uploaded_via=uploaded_via, read_via=read_via, ok=ok, detail=body[:60]
        )

    def browse(self):
        self.get("/", "home")
        self.get("/courses/", "catalog")
        self.get(TARGETS["free_course_url"], "course page")
        self.get("/workshops/", "workshops")
        self.get(TARGETS["trivial_view"]["path"], TARGETS["trivial_view"]["name"])


class Learner(Visitor):
    weight = 5

    def on_start(self):
        super().on_start()
        session = TARGETS["sessions"][next(_sessions) % len(TARGETS["sessions"])]
        host = re.sub(r"^https?://", "", self.base).split(":")[0]
        self.client.cookies.set("sessionid", session, domain=host)
        self.get(TARGETS["free_course_url"], "course page")  # the CSRF cookie
        # Each learner does everything once, first (so that however short the run there are
        # enrolments, orders and seats to check, and the lesson is read through both web
        # instances), then reads and browses.
        self.post(f"/courses/{TARGETS['free_course_id']}/enroll/", "enroll (free course)")
        self.read_the_lesson()
        self.buy_the_paid_course()
        self.take_a_workshop_seat()

    @task
    def read(self):
        self.browse()
        self.read_the_lesson()
        self.get("/dashboard/", "dashboard")

    def read_the_lesson(self):
        self.get(TARGETS["lesson_url"], "lesson page")
        self.read_document(
            self.base + TARGETS["lesson_download_url"],
            expected_sha256=TARGETS["lesson_download_sha256"],
            kind="lesson download",
            uploaded_via=0,
        )

    def buy_the_paid_course(self):
        started = self.post(f"/payments/courses/{TARGETS['paid_course_id']}/buy/", "buy (start)")
        checkout = started.headers.get("Location", "")
        if not checkout.startswith("http"):
            return
        # The emulator's hosted checkout page: "Pay" completes the session and sends the
        # signed checkout.session.completed webhook to the site.
        self.client.post(
            checkout, data={"action": "pay"}, name="emulator: pay", allow_redirects=False
        )

    def take_a_workshop_seat(self):
        self.get(TARGETS["workshop_url"], "workshop page")
        self.post(f"/workshops/{TARGETS['workshop_id']}/register/", "workshop register")


class Newcomer(Visitor):
    weight = 1

    @task(4)
    def look_around(self):
        self.browse()

    @task(1)
    def sign_up(self):
        self.get("/accounts/signup/", "signup form")
        email = f"new-{random.getrandbits(40):x}@example.test"
        self.post(
            "/accounts/signup/",
            "signup",
            data={
                "email": email,
                "password1": "drill-pass-2026!",
                "password2": "drill-pass-2026!",
            },
        )


class Creator(Visitor):
    """The free course's creator in the Wagtail admin: uploads a document and an image through
    one web instance (in turn web one, web two), then reads each back through the other: the
    document through its access check and presigned URL, the image as the admin's rendition of
    it, which the other instance makes from the original in the bucket."""

    fixed_count = 1
    wait_time = between(0.5, 1.5)

    def on_start(self):
        super().on_start()
        host = re.sub(r"^https?://", "", self.base).split(":")[0]
        self.client.cookies.set("sessionid", TARGETS["creator_session"], domain=host)
        self.get("/admin/documents/multiple/add/", "admin: upload page")  # the CSRF cookie
        self.uploads = itertools.count()

    @task
    def upload_then_read_through_the_other_web(self):
        n = next(self.uploads)
        upload_via, read_via = n % len(WEBS), (n + 1) % len(WEBS)
        tag = f"{os.getpid()}-{n}-{random.getrandbits(32):x}"
        content = f"drill upload {tag}".encode()
        document_id = self.upload(
            upload_via,
            "documents",
            "doc_id",
            collection=TARGETS["creator_documents_collection_id"],
            file=(f"drill-{tag}.txt", content, "text/plain"),
        )
        if document_id:
            self.read_document(
                f"{WEBS[read_via]}/documents/{document_id}/drill-{tag}.txt",
                expected_sha256=hashlib.sha256(content).hexdigest(),
                kind="document",
                uploaded_via=upload_via,
            )
        colour = (random.randrange(256), random.randrange(256), random.randrange(256))
        image_id = self.upload(
            upload_via,
            "images",
            "image_id",
            collection=TARGETS["creator_images_collection_id"],
            file=(f"drill-{tag}.png", png(96, 64, colour), "image/png"),
        )
        if image_id:
            self.read_image(image_id, uploaded_via=upload_via, read_via=read_via)

    def upload(self, via, kind, id_key, *, collection, file):
        """Wagtail's multiple upload (the admin's drag-and-drop); the new object's id or None."""
        response = self.post(
            f"{WEBS[via]}/admin/{kind}/multiple/add/",
            f"admin: upload {kind[:-1]}",
            data={"collection": collection},
            files={"files[]": file},
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not answer.get("success"):
            detail = f"{response.status_code} {answer or response.text[:80]}"
            record_file_read(
                f"{kind[:-1]} upload", uploaded_via=via, read_via=None, ok=False, detail=detail
            )
            return None
        return answer[id_key]

    def read_image(self, image_id, *, uploaded_via, read_via):
        page = self.get(
            f"{WEBS[read_via]}/admin/images/{image_id}/", "admin: image page (rendition)"
        )
        found = _RENDITION_SRC.search(page.text) if page.status_code == 200 else None
        if found is None:
            detail = f"image page answered {page.status_code} without a rendition"
            record_file_read(
                "image", uploaded_via=uploaded_via, read_via=read_via, ok=False, detail=detail
            )
            return
        rendition = self.client.get(found[1], name="S3: public rendition")
        ok = rendition.status_code == 200 and rendition.content.startswith(b"\x89PNG")
        detail = f"{rendition.status_code} {rendition.content[:8]!r}"
        record_file_read(
            "image", uploaded_via=uploaded_via, read_via=read_via, ok=ok, detail=detail
        )
