"""axe-core finds no serious or critical accessibility problem on the pages people use,
on a laptop (1280 px) and a phone (390 px), in Chromium; and no page scrolls sideways at 360 px."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, ViewportSize

from courses import services as course_services
from home.demo_images import demo_image
from payments.models import Order
from tests.a11y.axe import serious_violations
from tests.courses.factories import catalog_page, course_page
from tests.home.factories import creator_page
from tests.workshops.factories import a_learner, index_page, paid_workshop

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (tests/conftest.py rebuilds the site's page tree).
    pytest.mark.django_db(transaction=True),
]

VIEWPORTS: dict[str, ViewportSize] = {
    "laptop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}


def _site():
    """A storefront with portrait and banner, a paid course with a cover and lessons, a paid
    workshop, a learner enrolled in the course with a paid order for it."""
    catalog_page()
    index_page()
    maya = creator_page(
        title="Maya Okafor",
        slug="maya",
        niche="Sourdough baking at home",
        avatar=demo_image(title="Maya portrait", size=(400, 400), initials="MO"),
        banner=demo_image(title="Maya banner", size=(1600, 500), text="Sourdough"),
    )
    course = course_page(
        creator=maya,
        title="Weekday sourdough",
        price_amount=4900,
        cover_image=demo_image(title="Sourdough cover", size=(1600, 900), text="Sourdough"),
        lessons=3,
    )
    workshop = paid_workshop(
        parent=maya,
        title="Shaping a loaf, live",
        cover_image=demo_image(title="Shaping cover", size=(1600, 900), text="Shaping"),
    )
    learner = a_learner(email="lee@example.com", time_zone="Europe/Berlin")
    order = Order.objects.create(
        buyer=learner,
        course=course,
        item_title=course.title,
        amount=course.price_amount,
        currency=course.currency,
        status=Order.Status.PAID,
    )
    course_services.enroll(learner=learner, course=course, now=timezone.now() - timedelta(days=1))
    return {
        "learner": learner,
        "public": {
            "home": "/",
            "catalog": "/courses/",
            "course": course.url,
            "workshop": workshop.url,
            "storefront": maya.url,
            "search": "/search/?query=sourdough",
            "sign-in": reverse("account_login"),
            "sign-up": reverse("account_signup"),
        },
        "signed_in": {
            "lesson": course.lessons().first().url,
            "dashboard": reverse("dashboard"),
            "settings": reverse("profile"),
            "checkout success": reverse("payments:checkout_success", args=[order.pk]),
        },
    }


def test_no_serious_or_critical_violations_at_1280_and_390_px(browser: Browser, live_server):
    site = _site()
    client = Client()
    client.force_login(site["learner"])
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    found: dict[str, list[str]] = {}
    for viewport_name, viewport in VIEWPORTS.items():
        for signed_in, pages in ((False, site["public"]), (True, site["signed_in"])):
            # bypass_csp: axe is injected as a script of its own, which a strict CSP refuses.
            context = browser.new_context(viewport=viewport, bypass_csp=True)
            if signed_in:
                context.add_cookies(
                    [
                        {
                            "name": django_settings.SESSION_COOKIE_NAME,
                            "value": session,
                            "url": live_server.url,
                        }
                    ]
                )
            page = context.new_page()
            for name, path in pages.items():
                response = page.goto(f"{live_server.url}{path}")
                assert response is not None and response.status == 200, (name, path)
                if signed_in:
                    assert "/accounts/login/" not in page.url, name
                problems = serious_violations(page)
                if viewport_name == "phone":
                    # Nothing scrolls sideways on the narrowest common phone either.
                    page.set_viewport_size({"width": 360, "height": 740})
                    overflow = page.evaluate(
                        "() => document.documentElement.scrollWidth - window.innerWidth"
                    )
                    if overflow > 0:
                        problems.append(f"scrolls sideways by {overflow}px at 360px")
                    page.set_viewport_size(viewport)
                if problems:
                    found[f"{name} @ {viewport_name}"] = problems
            context.close()

    assert found == {}
