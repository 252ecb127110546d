"""The studio's follower codes page: a creator makes codes for their own items and sees each
code's uses and revenue; another creator can neither see nor switch them; staff look on."""

import pytest
from django.test import Client

from payments import discounts
from payments.models import DiscountCode, Order
from tests.payments.discount_factories import percent_code
from tests.payments.factories import paid_course, user

from .factories import approved_creator, staff_user

pytestmark = pytest.mark.django_db

CODES_URL = "/admin/studio/codes/"


@pytest.fixture
def maya():
    creator, storefront = approved_creator(email="maya@example.com", display_name="Maya Okafor")
    course = paid_course(storefront_page=storefront, title="Sourdough", slug="sourdough")
    client = Client()
    client.force_login(creator)
    return creator, storefront, course, client


def test_creator_makes_a_code_for_one_course_from_the_studio(maya):
    creator, _storefront, course, client = maya

    response = client.post(
        CODES_URL,
        {
            "action": "create",
            "name": "maya20",
            "item": str(course.pk),
            "kind": "amount",
            "value": "4.50",
            "max_uses": "10",
        },
    )

    assert response.status_code == 302
    code = DiscountCode.objects.get()
    assert (code.name, code.item_id, code.kind) == ("MAYA20", course.pk, "amount")
    assert (code.amount_off, code.currency, code.max_uses) == (450, "EUR", 10)
    assert code.creator == creator


def test_bad_input_shows_the_form_again_with_the_reason(maya):
    _creator, _storefront, _course, client = maya

    response = client.post(
        CODES_URL, {"action": "create", "name": "OK-NAME", "kind": "percent", "value": "12.5"}
    )

    assert response.status_code == 400
    assert "A percentage is a whole number." in response.content.decode()
    assert not DiscountCode.objects.exists()


def test_the_studio_shows_uses_and_revenue_per_code(maya):
    creator, _storefront, course, client = maya
    code = percent_code(creator=creator, name="SPRING", percent=10, max_uses=5)
    buyers = [user(email=f"b{n}@example.com") for n in range(3)]
    for buyer, status in zip(buyers, ["paid", "paid", "pending"], strict=True):
        Order.objects.create(
            buyer=buyer,
            course=course,
            item_title=course.title,
            currency="EUR",
            status=status,
            **discounts.order_fields(discounts.take_use(name="SPRING", item=course), item=course),
        )

    html = client.get(CODES_URL).content.decode()

    assert "SPRING" in html
    assert '<td class="uses">3 / 5</td>' in html
    assert '<td class="paid-orders">2</td>' in html
    assert '<td class="revenue">€88.20</td>' in html  # two orders of €44.10
    assert "/c/SPRING/" in html
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 3


def test_another_creator_sees_only_their_own_codes_and_cannot_switch_hers(maya):
    creator, storefront, _course, _client = maya
    code = percent_code(creator=creator, name="MAYAONLY")
    theo, _theo_storefront = approved_creator(email="theo@example.com", display_name="Theo L")
    client = Client()
    client.force_login(theo)

    own_page = client.get(f"{CODES_URL}?creator={storefront.pk}")
    assert own_page.status_code == 200
    assert "MAYAONLY" not in own_page.content.decode()
    client.post(CODES_URL, {"action": "deactivate", "code": str(code.pk)})

    assert DiscountCode.objects.get(pk=code.pk).active


def test_staff_see_a_creators_codes_but_do_not_make_them(maya):
    creator, storefront, _course, _client = maya
    percent_code(creator=creator, name="SEEME")
    client = Client()
    client.force_login(staff_user())

    page = client.get(f"{CODES_URL}?creator={storefront.pk}")

    assert "SEEME" in page.content.decode()
    assert "Create code" not in page.content.decode()
    response = client.post(
        f"{CODES_URL}?creator={storefront.pk}",
        {"action": "create", "name": "STAFF", "kind": "percent", "value": "5"},
    )
    # Wagtail's admin answers a PermissionDenied with a redirect and "no permission".
    assert response.status_code in (302, 403)
    assert DiscountCode.objects.count() == 1


def test_a_learner_gets_no_codes_page():
    client = Client()
    client.force_login(user(email="learner@example.com"))
    assert client.get(CODES_URL).status_code in (302, 403)


def test_the_codes_page_costs_the_same_queries_for_many_codes_and_orders(
    maya, django_assert_max_num_queries
):
    creator, _storefront, course, client = maya

    def sell(name: str, buyers: int) -> None:
        percent_code(creator=creator, name=name)
        for n in range(buyers):
            Order.objects.create(
                buyer=user(email=f"{name}{n}@example.com"),
                course=course,
                item_title=course.title,
                currency="EUR",
                status="paid",
                **discounts.order_fields(discounts.take_use(name=name, item=course), item=course),
            )

    sell("FIRST", 1)
    with django_assert_max_num_queries(60) as small:
        client.get(CODES_URL)
    for n in range(5):
        sell(f"MORE{n}", 3)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "MORE4" in client.get(CODES_URL).content.decode()
