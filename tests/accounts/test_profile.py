"""The learner profile: time zone and lesson send hour, and the zone guessed at sign-up."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(client):
    user = UserFactory(time_zone="Europe/Berlin", lesson_send_hour=8)
    client.force_login(user)
    return user


def test_profile_saves_a_valid_zone_and_hour(client, learner):
    response = client.post(
        reverse("profile"), {"time_zone": "Asia/Kathmandu", "lesson_send_hour": "6"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    learner.refresh_from_db()
    assert (learner.time_zone, learner.lesson_send_hour) == ("Asia/Kathmandu", 6)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons", "lesson_send_hour": "8"}, "time_zone"),
        ({"time_zone": "", "lesson_send_hour": "8"}, "time_zone"),
        ({"time_zone": "Europe/Paris", "lesson_send_hour": "24"}, "lesson_send_hour"),
        ({"time_zone": "Europe/Paris", "lesson_send_hour": "-1"}, "lesson_send_hour"),
        ({"time_zone": "Europe/Paris", "lesson_send_hour": "eight"}, "lesson_send_hour"),
    ],
    ids=["unknown-zone", "empty-zone", "hour-24", "hour-negative", "hour-not-a-number"],
)
def test_profile_refuses_bad_input_and_saves_nothing(client, learner, data, field):
    response = client.post(reverse("profile"), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "errorlist" in response.content.decode()
    learner.refresh_from_db()
    assert (learner.time_zone, learner.lesson_send_hour) == ("Europe/Berlin", 8)


def test_profile_requires_sign_in(client):
    response = client.get(reverse("profile"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_new_user_defaults_to_site_zone_and_eight_o_clock(settings):
    user = User.objects.create_user("new@example.com", "pw-123456789")

    assert user.time_zone == settings.TIME_ZONE
    assert user.lesson_send_hour == 8


@pytest.mark.parametrize(
    ("guess", "saved"),
    [("America/Sao_Paulo", "America/Sao_Paulo"), ("Not/A_Zone", "UTC"), ("", "UTC")],
    ids=["browser-guess-kept", "bogus-guess-falls-back", "no-guess-falls-back"],
)
def test_sign_up_keeps_the_browser_zone_guess(client, mailoutbox, guess, saved):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "newcomer@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "time_zone": guess,
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="newcomer@example.com").time_zone == saved
    assert len(mailoutbox) == 1
    assert "confirm" in mailoutbox[0].body.lower()


def test_unverified_user_cannot_sign_in(client):
    UserFactory(email="unverified@example.com", verified_email=False)

    response = client.post(
        reverse("account_login"),
        {"login": "unverified@example.com", "password": "correct-horse-battery-staple"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_a_bouncing_address_shows_a_banner_and_confirming_clears_it(client):
    learner: User = UserFactory.create()
    User.objects.filter(pk=learner.pk).update(email_bouncing_since=timezone.now())
    client.force_login(learner)

    before = client.get(reverse("dashboard")).content.decode()
    response = client.post(reverse("confirm_email_works"))
    after = client.get(reverse("dashboard")).content.decode()

    assert "are being refused by your mail provider" in before
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    learner.refresh_from_db()
    assert learner.email_bouncing_since is None
    assert "are being refused by your mail provider" not in after
    assert client.get(reverse("confirm_email_works")).status_code == 405
