"""The one-click pause link of the lesson e-mails: a signed token, no sign-in.

Bad input (a tampered, truncated, foreign or garbage token) gets a 400 page with a clear
message and changes nothing; the valid token pauses, and a second click is harmless.
"""

from datetime import UTC, datetime

import pytest
from django.core import signing
from django.test import Client

from courses import services
from courses.emails import build_lesson_email, pause_url
from courses.models import Enrollment, LessonDelivery
from courses.tokens import make_pause_token
from tests.courses.factories import course, enroll, morning_learner

pytestmark = pytest.mark.django_db

ENROLLED = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def enrollment() -> Enrollment:
    return enroll(morning_learner(), course(title="Sourdough in 7 days", lessons=3), now=ENROLLED)


@pytest.fixture
def strict_client() -> Client:
    """A client that checks CSRF like a browser would (Django's test client skips it)."""
    return Client(enforce_csrf_checks=True)


def path_of(enrollment: Enrollment) -> str:
    return pause_url(enrollment_id=enrollment.pk).removeprefix("http://testserver")


def snapshot(enrollment: Enrollment):
    enrollment.refresh_from_db()
    return (
        enrollment.status,
        enrollment.paused_at,
        sorted(enrollment.deliveries.values_list("status", flat=True)),
    )


def test_get_shows_a_confirm_page_and_pauses_nothing(client, enrollment):
    before = snapshot(enrollment)

    response = client.get(path_of(enrollment))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Pause Sourdough in 7 days?" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert snapshot(enrollment) == before


def test_one_click_post_from_a_mail_client_pauses_without_csrf_or_sign_in(
    strict_client, enrollment
):
    response = strict_client.post(path_of(enrollment), ONE_CLICK)

    assert response.status_code == 200
    assert "Sourdough in 7 days is paused" in response.content.decode()
    status, paused_at, delivery_statuses = snapshot(enrollment)
    assert status == Enrollment.Status.PAUSED and paused_at is not None
    assert delivery_statuses == [LessonDelivery.Status.PAUSED] * 3


def test_the_url_in_the_list_unsubscribe_header_is_the_one_that_pauses(strict_client, enrollment):
    delivery = enrollment.deliveries.get(lesson__day=0)
    header = build_lesson_email(delivery).extra_headers["List-Unsubscribe"]

    response = strict_client.post(header.strip("<>").removeprefix("http://testserver"), ONE_CLICK)

    assert response.status_code == 200
    assert snapshot(enrollment)[0] == Enrollment.Status.PAUSED


def test_a_second_post_is_harmless(strict_client, enrollment):
    strict_client.post(path_of(enrollment), ONE_CLICK)
    after_first = snapshot(enrollment)

    response = strict_client.post(path_of(enrollment), ONE_CLICK)

    assert response.status_code == 200
    assert "already paused" in response.content.decode()
    assert snapshot(enrollment) == after_first


def test_the_confirm_pages_own_form_pauses_with_its_csrf_token(strict_client, enrollment):
    strict_client.get(path_of(enrollment))  # sets the CSRF cookie, as a browser's visit would
    token = strict_client.cookies["csrftoken"].value

    response = strict_client.post(path_of(enrollment), {"csrfmiddlewaretoken": token})

    assert response.status_code == 200
    assert snapshot(enrollment)[0] == Enrollment.Status.PAUSED


def test_a_form_post_without_csrf_token_is_refused_and_changes_nothing(strict_client, enrollment):
    before = snapshot(enrollment)

    response = strict_client.post(path_of(enrollment), {})

    assert response.status_code == 403
    assert snapshot(enrollment) == before


def tampered(token: str) -> str:
    value, signature = token.split(":")
    flipped = "A" if signature[-1] != "A" else "B"
    return f"{value}:{signature[:-1]}{flipped}"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda pk: tampered(make_pause_token(enrollment_id=pk)), id="tampered"),
        pytest.param(
            lambda pk: make_pause_token(enrollment_id=pk).split(":")[0] + ":", id="truncated"
        ),
        pytest.param(
            lambda pk: f"{pk + 1}:" + make_pause_token(enrollment_id=pk).split(":")[1],
            id="other-enrolment-same-signature",
        ),
        pytest.param(lambda pk: signing.Signer().sign(str(pk)), id="signed-without-our-salt"),
        pytest.param(lambda pk: "hello", id="garbage"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_gets_a_400_page_with_a_clear_message_and_changes_nothing(
    strict_client, enrollment, make_token, method
):
    other = enroll(morning_learner(), enrollment.course, now=ENROLLED)  # the pk + 1 of one case
    before = snapshot(enrollment), snapshot(other)
    url = f"/courses/pause/{make_token(enrollment.pk)}/"

    response = getattr(strict_client, method)(url, ONE_CLICK)

    assert response.status_code == 400
    assert "This pause link is not valid" in response.content.decode()
    assert (snapshot(enrollment), snapshot(other)) == before


def test_a_valid_token_for_a_deleted_enrollment_gets_a_404_page(client, enrollment):
    url = path_of(enrollment)
    enrollment.delete()

    response = client.post(url, ONE_CLICK)

    assert response.status_code == 404
    assert "no longer exists" in response.content.decode()


def test_pausing_a_refunded_enrollment_changes_nothing(strict_client, enrollment):
    services.revoke(enrollment=enrollment, now=ENROLLED)
    before = snapshot(enrollment)

    response = strict_client.post(path_of(enrollment), ONE_CLICK)

    assert response.status_code == 200
    assert "Nothing to pause" in response.content.decode()
    assert snapshot(enrollment) == before
