"""The drill's visitors (run by locust in its own virtualenv: see tests/drill/run.py).

Signed-in learners (sessions made by the drill's setup, so that login rate limits don't turn
into the test) browse the catalog, a course, its lesson and the workshops, enrol in the free
course, buy the paid one through the Stripe emulator's checkout page (whose webhook then
reaches the site), and take a seat at the free workshop. A few anonymous visitors browse and
sign up. Half the visitors use web one, half web two, as a load balancer would spread them.

Every response with a 5xx status is recorded by page and time in ``DRILL_OUT/5xx.jsonl``.
"""

import itertools
import json
import os
import random
import re
import time

from locust import HttpUser, between, events, task

TARGETS = json.loads(os.environ["DRILL_TARGETS"])
WEBS: list[str] = TARGETS["webs"]
OUT = os.environ["DRILL_OUT"]
_sessions = itertools.count()
_visitors = itertools.count()


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
        self.base = WEBS[n % len(WEBS)]

    def get(self, path, name, **kwargs):
        return self._call("get", path, name, **kwargs)

    def post(self, path, name, data=None, **kwargs):
        data = dict(data or {})
        data["csrfmiddlewaretoken"] = self.client.cookies.get("csrftoken", "")
        return self._call("post", path, name, data=data, **kwargs)

    def _call(self, method, path, name, **kwargs):
        url = path if path.startswith("http") else self.base + path
        response = getattr(self.client, method)(url, name=name, allow_redirects=False, **kwargs)
        # Production marks cookies Secure; the drill speaks plain HTTP on loopback (the TLS proxy
        # is not part of it), so hand them back as a browser behind the proxy would.
        for cookie in self.client.cookies:
            cookie.secure = False
        return response

    def browse(self):
        self.get("/", "home")
        self.get("/courses/", "catalog")
        self.get(TARGETS["free_course_url"], "course page")
        self.get("/workshops/", "workshops")
        self.get("/healthz", "trivial view (/healthz)")


class Learner(Visitor):
    weight = 5

    def on_start(self):
        super().on_start()
        session = TARGETS["sessions"][next(_sessions) % len(TARGETS["sessions"])]
        host = re.sub(r"^https?://", "", self.base).split(":")[0]
        self.client.cookies.set("sessionid", session, domain=host)
        self.enrolled = self.bought = self.seated = False
        self.get(TARGETS["free_course_url"], "course page")  # the CSRF cookie

    @task(6)
    def read(self):
        self.browse()
        if self.enrolled:
            self.get(TARGETS["lesson_url"], "lesson page")
            self.get("/dashboard/", "dashboard")

    @task(2)
    def enroll_in_the_free_course(self):
        if not self.enrolled:
            self.post(f"/courses/{TARGETS['free_course_id']}/enroll/", "enroll (free course)")
            self.enrolled = True
        self.get(TARGETS["lesson_url"], "lesson page")

    @task(1)
    def buy_the_paid_course(self):
        if self.bought:
            return
        self.bought = True
        started = self.post(f"/payments/courses/{TARGETS['paid_course_id']}/buy/", "buy (start)")
        checkout = started.headers.get("Location", "")
        if not checkout.startswith("http"):
            return
        # The emulator's hosted checkout page: "Pay" completes the session and sends the
        # signed checkout.session.completed webhook to the site.
        self.client.post(
            checkout, data={"action": "pay"}, name="emulator: pay", allow_redirects=False
        )

    @task(1)
    def take_a_workshop_seat(self):
        if self.seated:
            return
        self.seated = True
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
