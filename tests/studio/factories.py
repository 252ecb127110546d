"""Creators made the way the site makes them: an application, approved by staff."""

from django.contrib.auth.models import Permission
from wagtail.models import Collection

from accounts.models import User
from home.models import CreatorApplication, CreatorPage
from home.studio import services
from tests.home.factories import home_page
from tests.payments.factories import user as new_user


def staff_user(**fields) -> User:
    fields.setdefault("email", "staff@example.com")
    return new_user(is_staff=True, is_superuser=True, **fields)


def site_roots() -> None:
    """The page tree and the root collection that the migrations make.

    A test with real commits starts from a flushed database: tests/conftest.py rebuilds the
    page tree, and this adds the root collection that approval puts the creator's under.
    """
    home_page()
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")


def application(*, applicant=None, **fields) -> CreatorApplication:
    site_roots()
    fields.setdefault("display_name", "Maya Okafor")
    fields.setdefault("niche", "Sourdough baking")
    fields.setdefault("bio", "I bake bread & teach it.")
    return services.apply(applicant=applicant or new_user(), **fields)


def approved_creator(*, email: str, display_name: str, staff=None) -> tuple[User, CreatorPage]:
    """A user, their application, staff's approval: the user and their live storefront."""
    user = new_user(email=email)
    staff = (
        staff
        or User.objects.filter(email="approver@example.com").first()
        or staff_user(email="approver@example.com")
    )
    services.approve_application(
        application=application(applicant=user, display_name=display_name), staff_user=staff
    )
    return user, CreatorPage.objects.get(creator=user)


def with_admin_access(user: User) -> User:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user
