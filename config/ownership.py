"""Creators own their files: which creator owns a page or a file, and which files a page uses.

Approval (``home.studio.services.provision_creator``) gives each creator a group with
permissions on their own image and document collections; those collections (and any below
them) are the creator's. A page belongs to the creator whose storefront (``home.CreatorPage``)
it is or lies under. Pages outside every storefront (home, about) are staff's.

Models are looked up by name ("home.CreatorPage") so that no app imports ``home`` (DESIGN.md).
"""

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Collection, Page, ReferenceIndex

from .validators import validate_single_line


def _creator_page_model():
    return apps.get_model("home", "CreatorPage")


def page_owner(page: Page, *, parent: Page | None = None):
    """The creator who owns ``page`` (or, for a page not yet in the tree, a page under
    ``parent``); None for staff's pages."""
    CreatorPage = _creator_page_model()
    if page.path:
        anchor = page
    elif parent is not None:
        anchor = parent
    else:
        return None
    if isinstance(anchor, CreatorPage) and anchor.path == page.path:
        return page.creator
    storefront = (
        CreatorPage.objects.filter(path__in=_ancestor_paths(anchor.path))
        .select_related("creator")
        .first()
    )
    return storefront.creator if storefront is not None else None


def _ancestor_paths(path: str) -> list[str]:
    step = Page.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


def owned_collection_ids(owner, *, app_label: str) -> set[int]:
    """The collections whose ``app_label`` files (wagtailimages, wagtaildocs) belong to
    ``owner``: those their groups hold permissions on, below the root, and every descendant."""
    roots = Collection.objects.filter(
        depth__gt=1,
        group_permissions__group__user=owner,
        group_permissions__permission__content_type__app_label=app_label,
    ).distinct()
    ids: set[int] = set()
    for collection in roots:
        ids.update(collection.get_descendants(inclusive=True).values_list("pk", flat=True))
    return ids


def collection_owner_ids(collection: Collection, *, app_label: str) -> set[int]:
    """The users whose groups own ``collection`` (or a collection above it, root excluded)."""
    User = apps.get_model("accounts", "User")
    above = Collection.objects.filter(
        path__in=_ancestor_paths(collection.path), depth__gt=1
    ).values_list("pk", flat=True)
    return set(
        User.objects.filter(
            groups__collection_permissions__collection__in=list(above),
            groups__collection_permissions__permission__content_type__app_label=app_label,
        ).values_list("pk", flat=True)
    )


def referenced_files(obj) -> dict[str, set[int]]:
    """The ids of the images and documents that ``obj`` uses in any field: choosers, blocks,
    rich-text links and embeds (the same extraction as Wagtail's reference index)."""
    image_type = ContentType.objects.get_for_model(get_image_model())
    document_type = ContentType.objects.get_for_model(get_document_model())
    found: dict[str, set[int]] = {"wagtailimages": set(), "wagtaildocs": set()}
    # Wagtail's own scanner of an instance (it also reads unsaved ones).
    for (
        content_type_id,
        object_id,
        _model_path,
        _content_path,
    ) in ReferenceIndex._extract_references_from_object(obj):
        if content_type_id == image_type.pk and str(object_id).isdigit():
            found["wagtailimages"].add(int(object_id))
        elif content_type_id == document_type.pk and str(object_id).isdigit():
            found["wagtaildocs"].add(int(object_id))
    return found


def foreign_files(page: Page, *, parent: Page | None = None) -> list[str]:
    """Titles (or ids) of the files ``page`` uses that are not in its owner's collections."""
    owner = page_owner(page, parent=parent)
    if owner is None:
        return []
    refused = []
    for app_label, model in (
        ("wagtailimages", get_image_model()),
        ("wagtaildocs", get_document_model()),
    ):
        ids = referenced_files(page)[app_label]
        if not ids:
            continue
        allowed = owned_collection_ids(owner, app_label=app_label)
        outside = model.objects.filter(pk__in=ids).exclude(collection_id__in=allowed)
        missing = ids - set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        # Only the id of a file that isn't ours: its title is someone else's business.
        refused += [f"#{pk}" for pk in sorted(set(outside.values_list("pk", flat=True)) | missing)]
    return refused


class CreatorContentMixin:
    """For pages a creator writes: a title that fits in an e-mail subject, and only the
    owner's own images and documents, checked whenever the page is cleaned (the editor's
    every save, draft or publish, and ``save()``/``save_revision()`` elsewhere)."""

    # The page's parent while the page is new (set by the admin form, see CreatorContentForm).
    parent_for_validation: Page | None = None

    def clean(self):
        super().clean()  # type: ignore[misc]
        errors: dict[str, list] = {}
        try:
            validate_single_line(self.title)  # type: ignore[attr-defined]
        except ValidationError as error:
            errors["title"] = error.messages
        refused = foreign_files(self, parent=self.parent_for_validation)
        if refused:
            errors["__all__"] = [
                _(
                    "This page uses images or documents that are not in your own collections "
                    "(%(files)s). Choose your own files, or upload them to your collections."
                )
                % {"files": ", ".join(refused)}
            ]
        if errors:
            raise ValidationError(errors)


class CreatorContentForm(WagtailAdminPageForm):
    """The page editor's form: tells a new page its parent, so that its clean() knows whose
    collections its files must come from before the page is in the tree."""

    def __init__(self, *args, parent_page=None, **kwargs):
        super().__init__(*args, parent_page=parent_page, **kwargs)
        self.instance.parent_for_validation = parent_page
