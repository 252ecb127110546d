"""allauth's other account pages in the site's wording: each one renders, and its heading is
in sentence case ("Reset your password", not allauth's "Password Reset")."""

import re

import pytest
from allauth.account.decorators import verified_email_required
from django.http import HttpResponse
from django.urls import path, reverse

from accounts.models import User
from config.urls import urlpatterns as site_urlpatterns
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

# allauth's own Title Case headings, none of which may show.
TITLE_CASE = (
    "Password Reset",
    "Change Password",
    "Set Password",
    "Sign Out",
    "Email Addresses",
    "E-mail Addresses",
    "Confirm Email Address",
    "Bad Token",
    "Account Inactive",
    "Confirm Access",
    "Verify Your Email Address",
)


@verified_email_required
def verified_only(request):
    return HttpResponse("only for confirmed addresses")


# This module is also a URLconf: the site's URLs plus one view behind allauth's own
# verified_email_required (the site's views use accounts.decorators instead).
urlpatterns = [path("verified-only/", verified_only, name="verified_only"), *site_urlpatterns]


def h1_of(response) -> str:
    html = response.content.decode()
    [h1] = re.findall(r"<h1[^>]*>(.*?)</h1>", html, flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", "", h1).split())


def assert_sentence_case_page(response, expected_h1: str) -> None:
    assert response.status_code == 200
    h1 = h1_of(response)
    assert h1 == expected_h1
    first, *rest = h1.split()
    assert first[0].isupper(), h1
    assert not [word for word in rest if word[0].isupper()], f"Title Case in {h1!r}"
    html = response.content.decode()
    for phrase in TITLE_CASE:
        assert phrase not in html, phrase
    # The strict CSP: no inline styles, no inline scripts.
    assert 'style="' not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


@pytest.fixture
def learner(client) -> User:
    user = UserFactory.create()
    client.force_login(user)
    return user


# Pages for visitors


def test_password_reset_page(client):
    response = client.get(reverse("account_reset_password"))

    assert_sentence_case_page(response, "Reset your password")
    assert 'name="email"' in response.content.decode()


def test_password_reset_done_page(client):
    response = client.get(reverse("account_reset_password_done"))

    assert_sentence_case_page(response, "Check your inbox")


def test_a_made_up_reset_key_shows_the_link_no_longer_works(client):
    url = reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "made-up-key"})

    response = client.get(url)

    assert_sentence_case_page(response, "This link no longer works")
    assert reverse("account_reset_password") in response.content.decode()


def test_password_reset_from_key_done_page(client):
    response = client.get(reverse("account_reset_password_from_key_done"))

    assert_sentence_case_page(response, "Your password is changed")


def test_a_made_up_confirmation_key_shows_the_link_is_not_valid(client):
    response = client.get(reverse("account_confirm_email", args=["made-up-key"]))

    assert_sentence_case_page(response, "Confirm your e-mail address")
    assert "expired or is not valid" in response.content.decode()


def test_account_inactive_page(client):
    response = client.get(reverse("account_inactive"))

    assert_sentence_case_page(response, "This account is switched off")


# The reset, end to end: the e-mail, its link, the form for the new password


def test_a_password_reset_request_sends_an_e_mail_whose_link_asks_for_a_new_password(
    client, mailoutbox
):
    user = UserFactory.create()

    response = client.post(reverse("account_reset_password"), {"email": user.email})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    [email] = mailoutbox
    assert email.to == [user.email]
    assert email.subject == "Reset your microcourses password"
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", email.body)
    assert link, email.body

    # allauth moves the key from the URL into the session, then shows the form.
    response = client.get(link.group(0), follow=True)

    assert_sentence_case_page(response, "Choose a new password")
    html = response.content.decode()
    assert 'name="password1"' in html and 'name="password2"' in html
    assert 'name="csrfmiddlewaretoken"' in html


# Pages for a signed-in learner


def test_password_change_page(client, learner):
    response = client.get(reverse("account_change_password"))

    assert_sentence_case_page(response, "Change your password")
    assert 'name="oldpassword"' in response.content.decode()


def test_password_set_page_for_an_account_without_a_password(client):
    user = UserFactory.create()
    user.set_unusable_password()
    user.save()
    client.force_login(user)

    response = client.get(reverse("account_set_password"))

    assert_sentence_case_page(response, "Set a password")
    assert 'name="password1"' in response.content.decode()


def test_e_mail_addresses_page(client, learner):
    response = client.get(reverse("account_email"))

    assert_sentence_case_page(response, "Your e-mail addresses")
    html = response.content.decode()
    assert learner.email in html
    for action in ("action_primary", "action_send", "action_remove", "action_add"):
        assert f'name="{action}"' in html


def test_logout_page(client, learner):
    response = client.get(reverse("account_logout"))

    assert_sentence_case_page(response, "Sign out")
    assert f'action="{reverse("account_logout")}"' in response.content.decode()


def test_reauthenticate_page(client, learner):
    response = client.get(reverse("account_reauthenticate"))

    assert_sentence_case_page(response, "Confirm it’s you")
    assert 'name="password"' in response.content.decode()


@pytest.mark.urls(__name__)
def test_verified_email_required_page_for_an_unconfirmed_address(client, mailoutbox):
    user = UserFactory.create(verified_email=False)
    client.force_login(user)

    response = client.get(reverse("verified_only"))

    assert_sentence_case_page(response, "Confirm your e-mail address first")
    # allauth sends the confirmation e-mail again as it shows the page.
    assert [email.to for email in mailoutbox] == [[user.email]]
