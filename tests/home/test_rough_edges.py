"""The rough edges a new visitor hit: 405 page, favicon, day numbering, the Studio link, the
phone's menu button and buy bar, one card everywhere."""

import pytest
from django.urls import reverse

from payments.models import DiscountCode
from tests.accounts.factories import UserFactory
from tests.courses.factories import catalog_page, course_page
from tests.home.factories import creator_page
from tests.payments.discount_factories import percent_code

pytestmark = pytest.mark.django_db


def test_a_get_on_a_post_only_url_shows_a_friendly_page_with_the_405_kept(client):
    course = course_page()

    response = client.get(reverse("courses:enroll", args=[course.pk]), HTTP_ACCEPT="text/html")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "This link can’t be opened directly" in html
    assert 'class="site-header"' in html


def test_favicon_and_app_icons_are_linked_and_served(client):
    html = client.get("/").content.decode()

    assert 'rel="icon"' in html and 'rel="apple-touch-icon"' in html and 'rel="manifest"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.ico")


def test_the_syllabus_counts_days_from_1_like_the_emails(client):
    course = course_page(lessons=3)

    html = client.get(course.url).content.decode()

    assert ">Day 1<" in html and ">Day 3<" in html
    assert ">Day 0<" not in html


def test_approved_creators_see_studio_in_the_header_and_learners_do_not(client):
    creator = UserFactory()
    creator_page(title="Maya Okafor", slug="maya", creator=creator)
    studio_link = f'href="{reverse("studio_dashboard")}"'

    client.force_login(UserFactory())
    assert studio_link not in client.get("/search/").content.decode()

    client.force_login(creator)
    assert studio_link in client.get("/search/").content.decode()


def test_every_page_has_the_menu_button_and_a_course_has_a_phone_buy_bar(client):
    catalog_page()
    course = course_page(price_amount=4900)

    html = client.get(course.url).content.decode()

    assert 'aria-controls="site-nav"' in html and 'id="site-nav"' in html
    assert 'class="buy-bar"' in html
    # The bar and the aside both post to the same buy URL: one action, two places.
    assert html.count(f'action="{reverse("payments:buy_course", args=[course.pk])}"') == 2


def test_catalog_and_search_show_the_same_card(client):
    catalog = catalog_page()
    course_page(title="Weekday sourdough", price_amount=4900, lessons=5)

    catalog_html = client.get(catalog.url).content.decode()
    search_html = client.get("/search/?query=sourdough").content.decode()

    for html in (catalog_html, search_html):
        assert 'class="card offer-card offer-card--course"' in html
        assert "€49.00" in html and "5 lessons" in html


def test_cancelling_a_paid_seat_asks_first_and_names_the_refund(client):
    from tests.workshops.factories import a_learner, paid_workshop
    from workshops import services as workshop_services
    from workshops.models import Registration

    workshop = paid_workshop(price_amount=2500, currency="EUR")
    learner = a_learner()
    held = workshop_services.hold_seat(workshop=workshop, learner=learner)
    workshop_services.confirm_paid_seat(registration_id=held.pk)
    client.force_login(learner)

    page_html = client.get(workshop.url).content.decode()
    confirm_url = reverse("workshops:cancel_confirm", args=[workshop.pk])
    assert f'href="{confirm_url}"' in page_html
    # The workshop page itself no longer posts a cancellation on the first click.
    assert f'action="{reverse("workshops:cancel", args=[workshop.pk])}"' not in page_html

    confirm_html = client.get(confirm_url).content.decode()
    assert "Cancel your seat?" in confirm_html
    assert "Cancel my seat and refund €25.00" in confirm_html
    held.refresh_from_db()
    assert held.status == Registration.Status.CONFIRMED  # asking changed nothing


def test_the_studio_shows_its_own_heading_not_home(client):
    import re

    from django.utils.html import strip_tags

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    creator_page(title="Maya Okafor", slug="maya", creator=UserFactory())

    html = client.get(reverse("studio_dashboard")).content.decode()

    heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert heading is not None
    assert strip_tags(heading.group(1)).split()[:1] == ["Studio"]


def test_the_studio_share_panel_lists_each_page_link(client):
    creator = UserFactory()
    maya = creator_page(title="Maya Okafor", slug="maya", creator=creator)
    course_page(creator=maya, title="Weekday sourdough", slug="weekday-sourdough")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get(reverse("studio_dashboard") + f"?creator={maya.pk}").content.decode()

    assert 'id="share-heading"' in html
    assert 'value="http://testserver/maya/"' in html
    assert 'value="http://testserver/maya/weekday-sourdough/"' in html


def test_creators_pick_course_topics_as_checkboxes():
    from django import forms

    from courses.models import CoursePage

    form_class = CoursePage.get_edit_handler().get_form_class()

    assert isinstance(form_class.base_fields["topics"].widget, forms.CheckboxSelectMultiple)


def test_seed_demo_provisions_its_creators_as_approval_does_with_drawn_images():
    from io import StringIO

    from django.core.management import call_command
    from wagtail.models import GroupPagePermission

    from accounts.models import User
    from courses.models import CoursePage
    from home.models import CreatorPage
    from workshops.models import WorkshopPage

    call_command("seed_demo", stdout=StringIO())

    maya = User.objects.get(email="maya@example.com")
    storefront = CreatorPage.objects.get(creator=maya)
    assert maya.has_perm("wagtailadmin.access_admin")
    assert GroupPagePermission.objects.filter(
        group__user=maya, page=storefront, permission__codename="publish_page"
    ).exists()
    assert storefront.avatar is not None and storefront.banner is not None
    assert (storefront.banner.width, storefront.banner.height) == (1600, 500)
    # The pictures are in the creator's own collection, as their uploads would be.
    assert storefront.avatar.collection.name.startswith("Maya Okafor images")
    assert all(page.cover_image_id for page in CoursePage.objects.all())
    assert all(page.cover_image_id for page in WorkshopPage.objects.all())


def test_the_share_panel_gives_each_page_its_link_with_each_usable_code(client):
    creator = UserFactory()
    maya = creator_page(title="Maya Okafor", slug="maya", creator=creator)
    bread = course_page(
        creator=maya, title="Weekday sourdough", slug="weekday-sourdough", price_amount=4900
    )
    course_page(creator=maya, title="Knife skills", slug="knife-skills", price_amount=2900)
    percent_code(creator=creator, name="FOLLOWERS")
    percent_code(creator=creator, name="BREADONLY", item=bread)
    percent_code(creator=creator, name="USEDUP", max_uses=1)
    DiscountCode.objects.filter(name="USEDUP").update(uses_taken=1)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get(reverse("studio_dashboard") + f"?creator={maya.pk}").content.decode()

    assert 'value="http://testserver/maya/?code=FOLLOWERS"' in html
    assert 'value="http://testserver/maya/weekday-sourdough/?code=BREADONLY"' in html
    assert 'value="http://testserver/maya/knife-skills/?code=FOLLOWERS"' in html
    assert "knife-skills/?code=BREADONLY" not in html
    assert "maya/?code=BREADONLY" not in html
    assert "USEDUP" not in html.split('id="share-heading"')[1]
