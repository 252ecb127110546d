"""Writes of the creator studio: applying, approving and declining (HackSoft-style services)."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext as _
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page, Site

from accounts.outbox import queue_message
from config.mail import absolute_url, build_email
from home.models import CreatorApplication, CreatorPage, HomePage

PAGE_PERMISSIONS = ("add_page", "change_page", "publish_page")
IMAGE_PERMISSIONS = ("add_image", "change_image", "choose_image")
DOCUMENT_PERMISSIONS = ("add_document", "change_document", "choose_document")


class ApplicationRefused(Exception):
    """The application cannot be made or decided; the message says why, for the user."""


def apply(*, applicant, display_name: str, niche: str, bio: str) -> CreatorApplication:
    """Record an application; one pending at a time, and none from an existing creator."""
    if CreatorPage.objects.filter(creator=applicant).exists():
        raise ApplicationRefused(_("You already have a storefront."))
    try:
        with transaction.atomic():
            return CreatorApplication.objects.create(
                applicant=applicant,
                display_name=display_name.strip(),
                niche=niche.strip(),
                bio=bio.strip(),
            )
    except IntegrityError as error:
        # The partial unique constraint: a second pending one, even from a racing request.
        raise ApplicationRefused(
            _("You already have an application waiting for a decision.")
        ) from error


@dataclass(frozen=True)
class CreatorSpace:
    storefront: CreatorPage
    group: Group
    image_collection: Collection
    document_collection: Collection


def _home_page() -> Page:
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is not None:
        return site.root_page
    return HomePage.objects.get()


def _unique_slug(parent: Page, base: str) -> str:
    base = slugify(base)[:200] or "creator"
    taken = set(parent.get_children().values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _permissions(app_label: str, codenames: tuple[str, ...]) -> list[Permission]:
    found = list(
        Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )
    assert len(found) == len(codenames), (app_label, codenames)  # noqa: S101  # migrations ran
    return found


def _collection(name: str) -> Collection:
    existing = Collection.objects.filter(name=name).first()
    return existing or Collection.get_first_root_node().add_child(name=name)


def provision_creator(*, user, display_name: str, niche: str = "", bio: str = "") -> CreatorSpace:
    """The storefront, group and collections of ``user``; each made only if missing.

    Call inside a transaction. Running it again finds what is there and adds nothing.
    """
    storefront = CreatorPage.objects.filter(creator=user).first()
    if storefront is None:
        home = _home_page()
        storefront = CreatorPage(
            title=display_name,
            slug=_unique_slug(home, display_name),
            creator=user,
            niche=niche,
            bio=format_html("<p>{}</p>", bio) if bio else "",
        )
        home.add_child(instance=storefront)
        storefront.save_revision(user=user).publish()
    group, _created = Group.objects.get_or_create(name=f"Creator: {user.email}")
    for permission in _permissions("wagtailcore", PAGE_PERMISSIONS):
        GroupPagePermission.objects.get_or_create(
            group=group, page=storefront, permission=permission
        )
    group.permissions.add(*_permissions("wagtailadmin", ("access_admin",)))
    images = _collection(f"{display_name} images ({user.pk})")
    documents = _collection(f"{display_name} documents ({user.pk})")
    for collection, app_label, codenames in (
        (images, "wagtailimages", IMAGE_PERMISSIONS),
        (documents, "wagtaildocs", DOCUMENT_PERMISSIONS),
    ):
        for permission in _permissions(app_label, codenames):
            GroupCollectionPermission.objects.get_or_create(
                group=group, collection=collection, permission=permission
            )
    user.groups.add(group)
    return CreatorSpace(storefront, group, images, documents)


def _decide(
    *, application: CreatorApplication, status: str, staff_user, now: datetime | None
) -> tuple[CreatorApplication, bool]:
    """Lock the row and set the decision; (row, changed). A repeat of the same is a no-op."""
    locked = CreatorApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status == status:
        return locked, False
    if locked.status != CreatorApplication.Status.PENDING:
        raise ApplicationRefused(
            _("This application was already %(status)s.")
            % {"status": locked.get_status_display().lower()}
        )
    locked.status = status
    locked.decided_by = staff_user
    locked.decided_at = now or timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked, True


def _queue_decision(application: CreatorApplication, template: str, subject: str, **context):
    applicant = application.applicant
    message = build_email(
        to=applicant.email,
        subject=subject,
        template=template,
        context={"application": application, "name": application.display_name, **context},
    )
    # Written to the outbox with the decision; a worker sends it after commit.
    queue_message(
        message,
        kind=f"home.{template}",
        user=applicant,
        dedupe_key=f"home.{template}:{application.pk}",
    )


def approve_application(
    *, application: CreatorApplication, staff_user, now: datetime | None = None
) -> CreatorApplication:
    """Approve: storefront, group, collections, membership and an e-mail, all or nothing.

    Idempotent: approving an approved application changes nothing and sends nothing.
    """
    with transaction.atomic():
        application, changed = _decide(
            application=application,
            status=CreatorApplication.Status.APPROVED,
            staff_user=staff_user,
            now=now,
        )
        if not changed:
            return application
        space = provision_creator(
            user=application.applicant,
            display_name=application.display_name,
            niche=application.niche,
            bio=application.bio,
        )
        _queue_decision(
            application,
            "creator_application_approved",
            _("You are a creator on microcourses"),
            storefront_url=absolute_url(space.storefront.url or "/"),
            admin_url=absolute_url("/admin/"),
        )
    return application


def decline_application(
    *, application: CreatorApplication, staff_user, now: datetime | None = None
) -> CreatorApplication:
    """Decline, and tell the applicant; declining twice sends one e-mail."""
    with transaction.atomic():
        application, changed = _decide(
            application=application,
            status=CreatorApplication.Status.DECLINED,
            staff_user=staff_user,
            now=now,
        )
        if changed:
            _queue_decision(
                application,
                "creator_application_declined",
                _("About your creator application"),
                apply_url=absolute_url("/studio/apply/"),
            )
    return application
