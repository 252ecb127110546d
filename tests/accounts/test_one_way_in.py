"""One way in (issue #10): every sign-in URL is allauth's, with its lockout; unconfirmed
accounts are asked to confirm before they commit to anything; addresses ignore casing."""

import importlib
import logging
from urllib.parse import unquote

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.test import Client

from accounts.models import User
from courses.models import Enrollment
from home.models import CreatorApplication
from payments.models import Order
from tests.accounts.factories import PASSWORD, UserFactory
from tests.courses.factories import course_page
from tests.payments.factories import paid_course, user
from tests.studio.factories import site_roots
from tests.workshops.factories import workshop_page
from workshops.models import Registration, WaitlistEntry

pytestmark = pytest.mark.django_db

LOGIN_URLS = ["/accounts/login/", "/admin/login/", "/django-admin/login/"]


def signed_in_as(client: Client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


@pytest.mark.parametrize("url", ["/admin/login/", "/django-admin/login/"])
def test_the_admin_logins_send_people_to_allauths_sign_in(client, url):
    response = client.get(url + "?next=/admin/pages/")
    assert response.status_code == 302
    assert unquote(response["Location"]) == "/accounts/login/?next=/admin/pages/"
    # An admin page asked for anonymously goes there too.
    for admin_page in ("/admin/", "/django-admin/"):
        chain = client.get(admin_page, follow=True).redirect_chain
        assert chain[-1][0].startswith("/accounts/login/"), (admin_page, chain)


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_brute_force_is_locked_out_on_every_login_url(url):
    """Twelve wrong passwords, then the right one: nobody is signed in, on any URL."""
    staff = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    for _attempt in range(12):
        client.post(url, {"login": staff.email, "password": "wrong", "username": staff.email})
    response = client.post(
        url,
        {"login": staff.email, "password": PASSWORD, "username": staff.email},
        follow=True,
    )
    assert signed_in_as(client) is None
    if url == "/accounts/login/":
        assert "Too many failed login attempts" in response.content.decode()
        # A fresh session is still locked out: allauth counts failures per address too.
        other = Client()
        other.post(url, {"login": staff.email, "password": PASSWORD})
        assert signed_in_as(other) is None
    else:
        # The admin URLs take no password at all: they only lead to the sign-in above.
        assert response.redirect_chain[0][0].startswith("/accounts/login/")


@pytest.mark.parametrize("url", ["/admin/login/", "/django-admin/login/"])
def test_the_admin_logins_accept_no_password(url):
    staff = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    response = client.post(url, {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert signed_in_as(client) is None


def test_a_signed_in_learner_asking_for_the_admin_is_refused_without_a_redirect_loop(client):
    client.force_login(UserFactory())
    response = client.get("/admin/", follow=True)
    assert len(response.redirect_chain) <= 2, response.redirect_chain
    assert response.status_code in (200, 403)
    if response.status_code == 200:  # the sign-in form, saying why
        assert "You do not have permission to access the admin." in response.content.decode()
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/django-admin/login/").status_code == 403


def test_an_unverified_account_cannot_sign_in_anywhere():
    UserFactory(email="new@example.com", verified_email=False)
    for url in LOGIN_URLS:
        client = Client()
        client.post(url, {"login": "new@example.com", "password": PASSWORD}, follow=True)
        assert signed_in_as(client) is None, url


# Unconfirmed accounts (a session made some other way) are asked to confirm first


@pytest.fixture
def unverified(client):
    site_roots()
    user = UserFactory(email="unconfirmed@example.com", verified_email=False)
    client.force_login(user)
    return user


def assert_asked_to_confirm(response):
    assert response.status_code == 403
    html = response.content.decode()
    assert "Confirm your e-mail address first" in html
    assert "/accounts/confirm-email/resend/" in html


def test_unverified_account_cannot_enrol(client, unverified):
    course = course_page(lessons=1)
    assert_asked_to_confirm(client.post(f"/courses/{course.pk}/enroll/"))
    assert not Enrollment.objects.exists()


def test_unverified_account_cannot_buy(client, unverified):
    course = paid_course()
    assert_asked_to_confirm(client.post(f"/payments/courses/{course.pk}/buy/"))
    assert_asked_to_confirm(client.get(f"/payments/courses/{course.pk}/buy/"))
    workshop = workshop_page(price_amount=2500, currency="EUR")
    assert_asked_to_confirm(client.post(f"/payments/workshops/{workshop.pk}/buy/"))
    assert not Order.objects.exists()


def test_unverified_account_cannot_register_or_wait_for_a_workshop(client, unverified):
    workshop = workshop_page()
    assert_asked_to_confirm(client.post(f"/workshops/{workshop.pk}/register/"))
    full = workshop_page(capacity=0)
    assert_asked_to_confirm(client.post(f"/workshops/{full.pk}/waitlist/join/"))
    assert not Registration.objects.exists()
    assert not WaitlistEntry.objects.exists()


def test_unverified_account_cannot_apply_as_creator(client, unverified):
    assert_asked_to_confirm(client.get("/studio/apply/"))
    data = {"display_name": "Una", "niche": "Knots", "bio": "I tie."}
    assert_asked_to_confirm(client.post("/studio/apply/", data))
    assert not CreatorApplication.objects.exists()


def test_the_resend_button_sends_the_confirmation_again(client, unverified, mailoutbox):
    response = client.post("/accounts/confirm-email/resend/", {"next": "/studio/apply/"})
    assert response.status_code == 302 and response["Location"] == "/studio/apply/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["unconfirmed@example.com"]
    assert "/accounts/confirm-email/" in mailoutbox[0].body
    # Rate-limited by allauth: a second click right away sends nothing.
    client.post("/accounts/confirm-email/resend/", {"next": "/studio/apply/"})
    assert len(mailoutbox) == 1


def test_a_verified_learner_still_enrols(client):
    site_roots()
    client.force_login(UserFactory())
    course = course_page(lessons=1)
    client.post(f"/courses/{course.pk}/enroll/")
    assert Enrollment.objects.count() == 1


# E-mail addresses ignore casing


def test_new_addresses_are_stored_in_lower_case():
    assert User.objects.create_user("Zed@Example.COM", "pw-123456789").email == "zed@example.com"
    user = User(email="  Mixed@Example.Com ")
    user.clean()
    assert user.email == "mixed@example.com"
    assert authenticate(username="ZED@example.com", password="pw-123456789") is not None


def test_the_data_migration_lowers_addresses_and_reports_collisions(caplog):
    from allauth.account.models import EmailAddress

    # Rows as they were before normalisation (written around the manager).
    ann = user(email="Ann@Example.com")
    bob_1 = user(email="Bob@Example.com")
    bob_2 = user(email="bob@example.com")
    migration = importlib.import_module("accounts.migrations.0002_normalise_emails")

    with caplog.at_level(logging.WARNING):
        migration.normalise(apps, None)

    ann.refresh_from_db()
    assert ann.email == "ann@example.com"
    assert EmailAddress.objects.get(user=ann).email == "ann@example.com"
    assert {User.objects.get(pk=bob_1.pk).email, User.objects.get(pk=bob_2.pk).email} == {
        "Bob@Example.com",
        "bob@example.com",
    }
    assert "bob@example.com" in caplog.text and "left unchanged" in caplog.text

    # Ann signs in with any casing.
    client = Client()
    client.post("/accounts/login/", {"login": "ANN@example.COM", "password": PASSWORD})
    assert signed_in_as(client) == ann.pk
