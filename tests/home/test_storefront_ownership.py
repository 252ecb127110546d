"""Who owns a storefront is kept outside its page revisions."""

import pytest
from wagtail.models import Revision

from home.models import CreatorPage
from tests.accounts.factories import UserFactory
from tests.home.factories import creator_page

pytestmark = pytest.mark.django_db


def test_publishing_an_old_revision_keeps_the_current_owner():
    maya, theo = UserFactory(email="maya@example.com"), UserFactory(email="theo@example.com")
    storefront = creator_page(creator=maya)
    first_revision = storefront.latest_revision
    # Ownership moves (as approving an application does), outside the page editor.
    CreatorPage.objects.filter(pk=storefront.pk).update(creator=theo)

    Revision.objects.get(pk=first_revision.pk).publish()  # as the admin's "revert" loads it

    storefront.refresh_from_db()
    assert storefront.creator == theo
    assert storefront.get_latest_revision_as_object().creator == theo


def test_the_page_editor_has_no_owner_field():
    assert "creator" not in CreatorPage.get_edit_handler().get_form_class()().fields
