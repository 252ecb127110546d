"""The courses app in the Wagtail admin: the "Learners" menu (enrolments and lesson deliveries,
read-only, see ``admin_views.py``), the staff's "Delivery health" page (Settings menu), and the
documents hook that serves a lesson's downloads only to its readers."""

from django.urls import reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.permissions import register_permission_policy

from config.admin_permissions import ReadOnlyPermissionPolicy, StaffMenuItem

from . import selectors, views
from .admin_views import CourseOperationsGroup, delivery_health_urls
from .models import Enrollment, LessonDelivery

# Registered at import, before any view asks Wagtail for these models' policies. Only services
# change these rows; "retry" (a failed delivery) needs "change lesson delivery".
register_permission_policy(Enrollment, ReadOnlyPermissionPolicy(Enrollment))
register_permission_policy(
    LessonDelivery, ReadOnlyPermissionPolicy(LessonDelivery, actions={"retry": "change"})
)


@hooks.register("register_admin_viewset")
def register_course_operations():
    return CourseOperationsGroup()


@hooks.register("register_admin_urls")
def register_delivery_health_url():
    return delivery_health_urls()


@hooks.register("register_settings_menu_item")
def register_delivery_health_menu_item():
    return StaffMenuItem(
        gettext_lazy("Delivery health"), reverse("delivery_health"), icon_name="mail", order=901
    )


@hooks.register("before_serve_document")
def serve_lesson_downloads_to_their_readers_only(document, request):
    """A lesson's download goes to those who may read the lesson (``download_access``)."""
    access = selectors.download_access(user=request.user, document=document)
    if access is None or access.denial is None:
        return None  # Wagtail serves it
    return views.download_refused(request, access.denial)
