"""Creators are isolated from each other in the Wagtail admin; staff can do everything.

Creator A asks for creator B's objects through each admin URL below. Each request gets a 403 or
404, or Wagtail's redirect to the admin home ("Sorry, you do not have permission"); after the
mutating requests, B's objects are unchanged. An anonymous visitor is sent to the admin login.
Staff (a superuser) open every URL that shows something (GET) with a 200.

Pages (B's storefront, B's course, B's lesson), under ``/admin/pages/``:
  ``<id>/`` (explorer), ``<id>/edit/`` (GET; POST with ``action-publish``), ``<id>/edit/preview/``
  (GET and POST), ``<id>/view_draft/``, ``<id>/move/``, ``<id>/move/<A's storefront>/confirm/``
  (POST), ``<id>/copy/`` (GET; POST into A's storefront), ``<id>/delete/`` (GET and POST),
  ``<id>/unpublish/`` (GET and POST), ``<id>/history/``,
  ``<id>/revisions/<rev>/view/``, ``<id>/revisions/<rev>/revert/``, ``<id>/usage/``,
  ``<id>/privacy/``, ``<id>/lock/`` (POST), ``add/courses/coursepage/<B's storefront>/``,
  ``<B's storefront>/add_subpage/``.
Images: ``/admin/images/<id>/`` (GET; POST), ``/admin/images/<id>/delete/`` (GET and POST), and
  the image index and chooser, which must not list B's image.
Documents: ``/admin/documents/edit/<id>/`` (GET; POST), ``/admin/documents/delete/<id>/`` (GET
  and POST), and the document index, which must not list B's document.
Orders: ``/admin/orders/inspect/<id>/``, ``/admin/orders/refund/<id>/`` (POST).
Enrolments and lesson e-mails (staff-only listings): ``/admin/enrollment/``,
  ``/admin/enrollment/inspect/<id>/``, ``/admin/lessondelivery/``,
  ``/admin/lessondelivery/inspect/<id>/``, ``/admin/lessondelivery/retry/<id>/`` (GET and POST);
  workshop registrations: ``/admin/registrations/``.
Studio exports with ``?creator=<B's storefront>`` give A their own rows
(tests/studio/test_dashboard.py).
"""

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Collection, Page

from courses import services as course_services
from courses.models import CoursePage, Enrollment, LessonDelivery, LessonPage
from payments.models import Order
from tests.payments.factories import paid_course, user

from .factories import approved_creator, staff_user

pytestmark = pytest.mark.django_db

Image = get_image_model()
Document = get_document_model()


class World:
    """Two approved creators, B with a published course, an image, a document and a learner."""

    def __init__(self):
        self.a, self.a_storefront = approved_creator(email="a@example.com", display_name="Ann A")
        self.b, self.b_storefront = approved_creator(email="b@example.com", display_name="Bea B")
        self.staff = staff_user()
        course = paid_course(
            storefront_page=self.b_storefront, title="Bea's course", slug="beas-course", lessons=1
        )
        course.save_revision(user=self.b).publish()
        self.course = CoursePage.objects.get(pk=course.pk)
        self.revision = self.course.latest_revision
        self.lesson = LessonPage.objects.child_of(self.course).get()
        b_images = Collection.objects.get(name__startswith="Bea B images")
        b_documents = Collection.objects.get(name__startswith="Bea B documents")
        self.image = Image.objects.create(
            title="Bea's secret image",
            file=get_test_image_file(),
            collection=b_images,
            uploaded_by_user=self.b,
        )
        self.document = Document.objects.create(
            title="Bea's secret handout",
            file=ContentFile(b"handout", name="handout.txt"),
            collection=b_documents,
            uploaded_by_user=self.b,
        )
        learner = user(email="learner@example.com")
        self.enrollment = course_services.enroll(learner=learner, course=self.course)
        self.delivery = LessonDelivery.objects.filter(enrollment=self.enrollment).get()
        LessonDelivery.objects.filter(pk=self.delivery.pk).update(
            status=LessonDelivery.Status.FAILED
        )
        self.order = Order.objects.create(
            buyer=learner,
            course=self.course,
            item_title=self.course.title,
            amount=4900,
            currency="EUR",
            status=Order.Status.PAID,
        )

    def get_urls(self) -> list[str]:
        pages = []
        for page in (self.b_storefront, self.course, self.lesson):
            p = f"/admin/pages/{page.pk}/"
            pages += [
                p,
                f"{p}edit/",
                f"{p}edit/preview/",
                f"{p}view_draft/",
                f"{p}move/",
                f"{p}copy/",
                f"{p}delete/",
                f"{p}unpublish/",
                f"{p}history/",
                f"{p}usage/",
                f"{p}privacy/",
            ]
        rev = f"/admin/pages/{self.course.pk}/revisions/{self.revision.pk}/"
        return [
            *pages,
            f"{rev}view/",
            f"{rev}revert/",
            f"/admin/pages/add/courses/coursepage/{self.b_storefront.pk}/",
            f"/admin/pages/{self.b_storefront.pk}/add_subpage/",
            f"/admin/images/{self.image.pk}/",
            f"/admin/images/{self.image.pk}/delete/",
            f"/admin/documents/edit/{self.document.pk}/",
            f"/admin/documents/delete/{self.document.pk}/",
            f"/admin/orders/inspect/{self.order.pk}/",
            "/admin/enrollment/",
            f"/admin/enrollment/inspect/{self.enrollment.pk}/",
            "/admin/lessondelivery/",
            f"/admin/lessondelivery/inspect/{self.delivery.pk}/",
            f"/admin/lessondelivery/retry/{self.delivery.pk}/",
            "/admin/registrations/",
        ]

    def post_requests(self) -> list[tuple[str, dict]]:
        course = f"/admin/pages/{self.course.pk}/"
        storefront = f"/admin/pages/{self.b_storefront.pk}/"
        stolen = {
            "new_title": "Stolen",
            "new_slug": "stolen",
            "new_parent_page": str(self.a_storefront.pk),
            "copy_subpages": "on",
            "publish_copies": "on",
        }
        hacked = {"title": "Hacked", "slug": "hacked", "action-publish": "action-publish"}
        requests = []
        for page in (course, storefront, f"/admin/pages/{self.lesson.pk}/"):
            requests += [
                (f"{page}edit/", hacked),
                (f"{page}edit/preview/", hacked),
                (f"{page}copy/", stolen),
                (f"{page}delete/", {}),
                (f"{page}unpublish/", {}),
                (f"{page}lock/", {}),
            ]
        return [
            *requests,
            (f"{course}move/{self.a_storefront.pk}/confirm/", {}),
            (f"{course}revisions/{self.revision.pk}/revert/", {}),
            (f"/admin/images/{self.image.pk}/", {"title": "Hacked"}),
            (f"/admin/images/{self.image.pk}/delete/", {}),
            (f"/admin/documents/edit/{self.document.pk}/", {"title": "Hacked"}),
            (f"/admin/documents/delete/{self.document.pk}/", {}),
            (f"/admin/orders/refund/{self.order.pk}/", {}),
            (f"/admin/lessondelivery/retry/{self.delivery.pk}/", {}),
        ]

    def snapshot(self):
        """What a successful attack would change."""
        return (
            list(
                Page.objects.order_by("path").values_list(
                    "pk", "title", "slug", "path", "live", "locked", "has_unpublished_changes"
                )
            ),
            list(Image.objects.order_by("pk").values_list("pk", "title", "collection_id")),
            list(Document.objects.order_by("pk").values_list("pk", "title", "collection_id")),
            list(Order.objects.values_list("pk", "status", "refund_requested_at")),
            list(LessonDelivery.objects.order_by("pk").values_list("pk", "status")),
            list(Enrollment.objects.values_list("pk", "status")),
        )


@pytest.fixture
def world() -> World:
    return World()


def signed_in(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def assert_refused(response, url: str, world: World):
    """403, 404, or Wagtail's "Sorry, you do not have permission" redirect to the admin home.

    The page explorer instead redirects a creator to their own explorable root, A's storefront.
    """
    assert response.status_code in (302, 403, 404), (url, response.status_code)
    if response.status_code == 302:
        allowed = {"/admin/", f"/admin/pages/{world.a_storefront.pk}/"}
        assert response["Location"] in allowed, (url, response["Location"])


def test_creator_a_cannot_open_creator_bs_objects(world):
    client = signed_in(world.a)
    for url in world.get_urls():
        assert_refused(client.get(url), url, world)


def test_creator_a_cannot_change_creator_bs_objects(world):
    client = signed_in(world.a)
    before = world.snapshot()
    for url, data in world.post_requests():
        assert_refused(client.post(url, data), url, world)
    assert world.snapshot() == before
    assert not Page.objects.filter(title="Stolen").exists()


def test_anonymous_visitors_are_sent_to_the_sign_in(world):
    """The admin's sign-in is allauth's (one way in, issue #10)."""
    client = Client()
    before = world.snapshot()
    for url in world.get_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    for url, data in world.post_requests():
        response = client.post(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert world.snapshot() == before


# Wagtail's image edit view leaves a rendition's temporary file for the garbage collector,
# which reports it as unraisable; nothing of ours to fix.
IMAGE_EDIT_TEMPFILE = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@IMAGE_EDIT_TEMPFILE
def test_staff_open_every_url(world):
    client = signed_in(world.staff)
    for url in world.get_urls():
        assert client.get(url).status_code == 200, url


def test_listings_and_choosers_hide_creator_bs_images_and_documents(world):
    client = signed_in(world.a)
    for url in ("/admin/images/", "/admin/images/chooser/", "/admin/documents/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Bea&#x27;s secret" not in html and "Bea's secret" not in html, url


@IMAGE_EDIT_TEMPFILE
def test_creator_b_can_edit_their_own_course_and_image(world):
    client = signed_in(world.b)
    for url in (
        f"/admin/pages/{world.course.pk}/edit/",
        f"/admin/pages/{world.course.pk}/copy/",
        f"/admin/images/{world.image.pk}/",
        f"/admin/documents/edit/{world.document.pk}/",
        f"/admin/orders/inspect/{world.order.pk}/",
        "/admin/studio/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/enrollment/").status_code in (302, 403)


def test_the_page_explorer_shows_a_creator_only_their_own_storefront(world):
    client = signed_in(world.a)
    response = client.get("/admin/pages/", follow=True)
    html = response.content.decode()
    assert "Ann A" in html
    assert "Bea B" not in html and "Bea&#x27;s course" not in html
