"""Becoming a creator: the application form, staff's decision, and what approval makes."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission

from home.models import CreatorApplication, CreatorPage
from home.studio import services
from tests.home.factories import home_page
from tests.payments.factories import user as UserFactory

from .factories import application, staff_user

pytestmark = pytest.mark.django_db

APPLY = "/studio/apply/"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**fields):
    return {"display_name": "Maya Okafor", "niche": "Sourdough", "bio": "Baker.", **fields}


# -- applying ------------------------------------------------------------------------------------


def test_visitors_are_sent_to_sign_in():
    response = Client().get(APPLY)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_signed_in_user_applies_once_and_sees_it_pending():
    home_page()
    user = UserFactory()
    client = signed_in(user)

    response = client.post(APPLY, form())

    assert response.status_code == 302
    created = CreatorApplication.objects.get(applicant=user)
    assert created.status == CreatorApplication.Status.PENDING
    assert created.display_name == "Maya Okafor"
    page = client.get(APPLY).content.decode()
    assert "waiting for a decision" in page


def test_a_second_pending_application_is_refused_with_a_clear_error():
    user = UserFactory()
    application(applicant=user)

    with pytest.raises(services.ApplicationRefused, match="already have an application"):
        services.apply(applicant=user, display_name="Again", niche="x", bio="y")
    assert CreatorApplication.objects.filter(applicant=user).count() == 1


def test_missing_fields_are_form_errors_and_save_nothing():
    user = UserFactory()

    response = signed_in(user).post(APPLY, form(display_name="", niche=""))

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not CreatorApplication.objects.exists()


def test_after_a_decline_the_user_may_apply_again():
    user = UserFactory()
    services.decline_application(application=application(applicant=user), staff_user=staff_user())

    assert services.apply(applicant=user, display_name="Maya", niche="x", bio="y").pk


# -- approving -----------------------------------------------------------------------------------


def test_approval_makes_a_live_storefront_group_collections_and_sends_an_email():
    user = UserFactory(email="maya@example.com")
    staff = staff_user()
    pending = application(applicant=user)

    decided = services.approve_application(application=pending, staff_user=staff, now=NOW)

    assert decided.status == CreatorApplication.Status.APPROVED
    assert decided.decided_by == staff and decided.decided_at == NOW
    storefront = CreatorPage.objects.get(creator=user)
    assert storefront.live and storefront.title == "Maya Okafor"
    assert storefront.get_parent().pk == home_page().pk
    assert storefront.niche == "Sourdough baking"
    assert "I bake bread &amp; teach it." in storefront.bio
    group = user.groups.get()
    assert set(
        GroupPagePermission.objects.filter(group=group).values_list(
            "page_id", "permission__codename"
        )
    ) == {
        (storefront.pk, "add_page"),
        (storefront.pk, "change_page"),
        (storefront.pk, "publish_page"),
    }
    assert user.has_perm("wagtailadmin.access_admin")
    collection_perms = set(
        GroupCollectionPermission.objects.filter(group=group).values_list(
            "collection__name", "permission__codename"
        )
    )
    images, documents = (
        Collection.objects.get(name__contains="images"),
        Collection.objects.get(name__contains="documents"),
    )
    assert collection_perms == {
        (images.name, "add_image"),
        (images.name, "change_image"),
        (images.name, "choose_image"),
        (documents.name, "add_document"),
        (documents.name, "change_document"),
        (documents.name, "choose_document"),
    }
    assert len(mail.outbox) == 0  # sent after commit


@pytest.mark.django_db(transaction=True)
def test_approving_twice_changes_nothing_and_sends_one_email():
    user = UserFactory(email="maya@example.com")
    staff = staff_user()
    pending = application(applicant=user)

    services.approve_application(application=pending, staff_user=staff, now=NOW)
    services.approve_application(application=pending, staff_user=staff)

    assert CreatorPage.objects.filter(creator=user).count() == 1
    assert user.groups.count() == 1
    assert GroupPagePermission.objects.filter(group__user=user).count() == 3
    assert Collection.objects.filter(name__startswith="Maya Okafor").count() == 2
    assert CreatorApplication.objects.get().decided_at == NOW
    assert [message.to for message in mail.outbox] == [["maya@example.com"]]
    assert "approved" in mail.outbox[0].body
    assert "/maya-okafor/" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_declining_sends_one_email_and_makes_nothing():
    user = UserFactory(email="sam@example.com")
    pending = application(applicant=user)

    services.decline_application(application=pending, staff_user=staff_user())
    services.decline_application(application=pending, staff_user=staff_user(email="b@x.org"))

    assert not CreatorPage.objects.filter(creator=user).exists()
    assert not user.groups.exists()
    assert [message.to for message in mail.outbox] == [["sam@example.com"]]
    assert "apply again" in mail.outbox[0].body
    assert isinstance(mail.outbox[0], EmailMultiAlternatives) and mail.outbox[0].alternatives


def test_a_declined_application_cannot_then_be_approved():
    pending = application()
    staff = staff_user()
    services.decline_application(application=pending, staff_user=staff)

    with pytest.raises(services.ApplicationRefused, match="already declined"):
        services.approve_application(application=pending, staff_user=staff)
    assert not CreatorPage.objects.exists()


def test_two_creators_with_the_same_name_get_different_slugs():
    staff = staff_user()
    for email in ("a@example.com", "b@example.com"):
        services.approve_application(
            application=application(applicant=UserFactory(email=email)), staff_user=staff
        )

    assert sorted(CreatorPage.objects.values_list("slug", flat=True)) == [
        "maya-okafor",
        "maya-okafor-2",
    ]


# -- the admin listing and its actions -----------------------------------------------------------


def test_staff_list_inspect_and_approve_in_the_admin():
    staff = staff_user()
    pending = application(applicant=UserFactory(email="maya@example.com"))
    client = signed_in(staff)

    listing = client.get("/admin/creator_applications/")
    assert listing.status_code == 200 and "Maya Okafor" in listing.content.decode()
    detail = client.get(f"/admin/creator_applications/inspect/{pending.pk}/")
    assert "Approve" in detail.content.decode()

    response = client.post(f"/admin/creator_applications/approve/{pending.pk}/")

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == CreatorApplication.Status.APPROVED
    assert CreatorPage.objects.filter(creator=pending.applicant).exists()


def test_staff_decline_in_the_admin():
    pending = application()

    signed_in(staff_user()).post(f"/admin/creator_applications/decline/{pending.pk}/")

    pending.refresh_from_db()
    assert pending.status == CreatorApplication.Status.DECLINED


def test_creators_and_learners_cannot_list_or_decide_applications():
    pending = application()
    creator_user = UserFactory(email="theo@example.com")
    services.approve_application(
        application=application(applicant=creator_user, display_name="Theo"),
        staff_user=staff_user(),
    )
    client = signed_in(creator_user)

    assert client.get("/admin/creator_applications/").status_code in (302, 403)
    # Wagtail's admin turns PermissionDenied into a redirect to its home with a message.
    refused = client.post(f"/admin/creator_applications/approve/{pending.pk}/")
    assert refused.status_code in (302, 403)
    assert refused.status_code == 403 or "/creator_applications/" not in refused["Location"]
    pending.refresh_from_db()
    assert pending.status == CreatorApplication.Status.PENDING
    assert Client().post(f"/admin/creator_applications/approve/{pending.pk}/").status_code in (
        302,
        403,
    )
