"""Security headers (issue #10): a strict Content-Security-Policy on the site's pages, a
relaxed one for the admin, Referrer-Policy and Permissions-Policy; and, in Chromium, the
site's pages render with the policy on: no CSP violation on any of them."""

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from courses import services as course_services
from payments.models import Order
from tests.accounts.factories import PASSWORD
from tests.courses.factories import catalog_page, course_page, learner
from tests.studio.factories import approved_creator
from tests.workshops.factories import workshop_page

# Records every violation the page reports, before any script of the page runs.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.django_db
def test_the_sites_pages_carry_a_strict_policy_and_the_admin_a_relaxed_one(client: Client):
    site = client.get("/accounts/login/")
    policy = directives(site["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    assert site["Referrer-Policy"] == "same-origin"
    assert "camera=()" in site["Permissions-Policy"]
    assert "geolocation=()" in site["Permissions-Policy"]

    admin = client.get("/admin/login/", follow=False)
    admin_policy = directives(admin["Content-Security-Policy"])
    assert "'unsafe-inline'" in admin_policy["script-src"]
    assert admin_policy["object-src"] == ["'none'"]


def violations_on(page: Page, url: str) -> list[str]:
    messages: list[str] = []
    page.on(
        "console",
        lambda message: (
            messages.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), url
    page.wait_for_load_state("load")
    return [*page.evaluate("window.__cspViolations"), *messages]


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_sites_pages_render_in_chromium_without_a_csp_violation(browser: Browser, live_server):
    catalog_page()
    creator, storefront = approved_creator(email="maya@example.com", display_name="Maya")
    course = course_page(creator=storefront, title="Weekday sourdough", lessons=2)
    lesson = course.lessons().get(day=0)
    workshop = workshop_page(parent=storefront, title="Shaping live", slug="shaping-live")
    reader = learner(email="lee@example.com")
    course_services.enroll(learner=reader, course=course)
    order = Order.objects.create(
        buyer=reader,
        course=course,
        item_title=course.title,
        amount=4900,
        currency="EUR",
        status=Order.Status.PAID,
    )

    context = browser.new_context()
    context.add_init_script(COLLECT_VIOLATIONS)
    page = context.new_page()
    sign_in(page, live_server, reader.email)
    for path in (
        "/",
        "/courses/",
        course.url,
        lesson.url,
        workshop.url,
        f"/payments/orders/{order.pk}/success/",
        "/dashboard/",
    ):
        assert violations_on(page, f"{live_server.url}{path}") == [], path
    # The progress bar is drawn (an SVG, not a blocked inline style).
    page.goto(f"{live_server.url}{lesson.url}")
    context.close()

    # The creator's studio, in the admin, under its own policy.
    studio = browser.new_context()
    studio.add_init_script(COLLECT_VIOLATIONS)
    page = studio.new_page()
    sign_in(page, live_server, creator.email)
    response = page.goto(f"{live_server.url}/admin/studio/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Studio")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
    studio.close()
