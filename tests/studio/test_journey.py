"""Becoming a creator, end to end in headless Chromium: a new user applies, staff approve in
the Wagtail admin, and the creator signs in to the admin and finds their storefront."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from home.models import CreatorApplication
from tests.accounts.factories import PASSWORD
from tests.payments.factories import user

from .factories import site_roots, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()


def test_a_user_applies_staff_approve_and_the_creator_finds_their_storefront(
    page: Page, browser: Browser, live_server, mailoutbox
):
    site_roots()
    applicant = user(email="nora@example.com")
    staff = staff_user()

    sign_in(page, live_server, applicant.email)
    page.goto(f"{live_server.url}/studio/apply/")
    page.get_by_label("Display name").fill("Nora Quinn")
    page.get_by_label("Niche").fill("Fermentation")
    page.get_by_label("Short bio").fill("I ferment everything.")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".pending-application")).to_contain_text("Nora Quinn")

    staff_page = browser.new_page()
    sign_in(staff_page, live_server, staff.email)
    staff_page.goto(f"{live_server.url}/admin/creator_applications/")
    staff_page.get_by_role("link", name="Nora Quinn").click()
    staff_page.get_by_role("button", name="Approve").click()
    expect(staff_page.get_by_text("Nora Quinn is a creator now")).to_be_visible()
    staff_page.close()

    assert CreatorApplication.objects.get().status == CreatorApplication.Status.APPROVED
    assert [message.to for message in mailoutbox] == [["nora@example.com"]]

    page.goto(f"{live_server.url}/admin/pages/")
    expect(page).to_have_url(re.compile(r"/admin/pages/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Nora Quinn"))).to_be_visible()
    page.goto(f"{live_server.url}/admin/studio/")
    expect(page.get_by_text("No courses yet.")).to_be_visible()
