"""Reviews: who may write one (half a course done, a workshop attended), once and editable; the
creator's reply and hiding, staff removal; the page's average and latest reviews."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.pagecache.middleware import HIT_HEADER
from courses import services as course_services
from courses.models import CoursePage
from home.models import Review
from home.reviews import selectors, services
from tests.courses.factories import catalog_page, course_page, enroll, learner
from tests.home.factories import creator_page
from tests.payments.factories import user
from tests.studio.factories import staff_user
from tests.workshops.factories import in_minutes, workshop_page
from workshops import services as workshop_services
from workshops.models import WorkshopPage

pytestmark = pytest.mark.django_db


@pytest.fixture
def maya():
    return user(email="maya@example.com", first_name="Maya")


@pytest.fixture
def course(maya) -> CoursePage:
    storefront = creator_page(title="Maya Okafor", slug="maya", creator=maya)
    return course_page(creator=storefront, lessons=4, publish=False, title="Weekday sourdough")


def complete(enrollment, course: CoursePage, count: int) -> None:
    for lesson in list(course.lessons())[:count]:
        course_services.complete_lesson(enrollment=enrollment, lesson=lesson)


def client_of(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_a_learner_reviews_after_half_the_course_and_edits_the_same_review(course):
    bea = learner(email="bea@example.com", first_name="Bea")
    enrollment = enroll(bea, course)
    complete(enrollment, course, 1)
    assert services.why_not_review(user=bea, page=course) == (
        "You can review this course once you have completed half of its lessons."
    )
    with pytest.raises(services.ReviewRefused):
        services.write_review(author=bea, page=course, rating=5, body="Early!")

    complete(enrollment, course, 2)
    client = client_of(bea)
    response = client.post(
        reverse("reviews:write", args=[course.pk]), {"rating": "4", "body": "Clear and kind."}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{course.url}#reviews"
    client.post(reverse("reviews:write", args=[course.pk]), {"rating": "5", "body": "Even better."})

    review = Review.objects.get()
    assert (review.rating, review.body, review.author) == (5, "Even better.", bea)
    page = client.get(course.url).content.decode()
    assert "Even better." in page
    assert "Edit your review" in page


def test_bad_review_input_shows_the_form_again_with_errors(course):
    bea = learner(email="bea@example.com")
    complete(enroll(bea, course), course, 2)

    response = client_of(bea).post(
        reverse("reviews:write", args=[course.pk]), {"rating": "9", "body": "x" * 1001}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Review.objects.exists()


def test_who_may_not_review(course):
    stranger = learner(email="stranger@example.com")
    refunded = learner(email="refunded@example.com")
    enrollment = enroll(refunded, course)
    complete(enrollment, course, 4)
    course_services.revoke(enrollment=enrollment)

    assert services.why_not_review(user=stranger, page=course) == (
        "Only learners of this course can review it."
    )
    assert services.why_not_review(user=refunded, page=course) == (
        "Only learners of this course can review it."
    )
    response = client_of(stranger).post(reverse("reviews:write", args=[course.pk]), {"rating": "1"})
    assert response.status_code == 400
    assert "Only learners of this course can review it." in response.content.decode()
    assert not Review.objects.exists()


def test_a_workshop_is_reviewed_by_those_who_attended_once_it_took_place():
    workshop = workshop_page(starts_at=in_minutes(60))
    came = user(email="came@example.com")
    workshop_services.register_free(learner=came, workshop=workshop)
    assert services.why_not_review(user=came, page=workshop) == (
        "You can review this workshop once it has taken place."
    )

    WorkshopPage.objects.filter(pk=workshop.pk).update(starts_at=timezone.now() - timedelta(days=1))
    workshop.refresh_from_db()

    assert services.why_not_review(user=came, page=workshop) is None
    services.write_review(author=came, page=workshop, rating=3, body="Fine.")
    assert services.why_not_review(user=user(email="no@example.com"), page=workshop) == (
        "Only people who attended this workshop can review it."
    )
    assert selectors.rating_summary(workshop).count == 1
    html = Client().get(workshop.url).content.decode()
    assert '<strong class="rating-average">3.0</strong>' in html
    assert "Fine." in html


def _reviewed_course(course, ratings: list[int]) -> list[Review]:
    reviews = []
    for n, rating in enumerate(ratings):
        person = learner(email=f"l{n}@example.com", first_name=f"L{n}")
        complete(enroll(person, course), course, 2)
        reviews.append(
            services.write_review(author=person, page=course, rating=rating, body=f"R{n}")
        )
    return reviews


def test_average_and_latest_on_the_page_and_the_aggregate_rating(course):
    _reviewed_course(course, [5, 4, 4])

    summary = selectors.rating_summary(course)
    assert (str(summary.average), summary.count) == ("4.3", 3)
    assert summary.as_aggregate_rating() == {
        "@type": "AggregateRating",
        "ratingValue": "4.3",
        "ratingCount": 3,
        "bestRating": 5,
        "worstRating": 1,
    }
    html = Client().get(course.url).content.decode()
    assert '<strong class="rating-average">4.3</strong>' in html
    assert "out of 5, from 3 reviews" in html
    assert html.index("R2") < html.index("R1") < html.index("R0")  # newest first


def test_no_reviews_means_no_aggregate_rating(course):
    assert selectors.rating_summary(course).as_aggregate_rating() is None
    assert "No reviews yet." in Client().get(course.url).content.decode()


def test_the_creator_replies_and_hides_an_abusive_review_and_staff_remove_any(maya, course):
    kind, abusive = _reviewed_course(course, [5, 1])
    creator = client_of(maya)

    creator.post(reverse("reviews:reply", args=[kind.pk]), {"reply": "Thank you!"})
    creator.post(reverse("reviews:hide", args=[abusive.pk]), {"hidden": "1"})

    assert Review.objects.get(pk=kind.pk).reply == "Thank you!"
    assert Review.objects.get(pk=abusive.pk).status == Review.Status.HIDDEN
    assert selectors.rating_summary(course).count == 1
    visitor_page = Client().get(course.url).content.decode()
    assert "R1" not in visitor_page and "Thank you!" in visitor_page
    assert "Hidden from visitors" in creator.get(course.url).content.decode()

    client_of(staff_user()).post(reverse("reviews:remove", args=[kind.pk]))
    assert Review.objects.get(pk=kind.pk).status == Review.Status.REMOVED
    assert selectors.rating_summary(course).count == 0
    with pytest.raises(services.ReviewRefused, match="removed by our staff"):
        services.write_review(author=kind.author, page=course, rating=5)


def test_nobody_else_may_reply_hide_or_remove(course):
    (review,) = _reviewed_course(course, [2])
    other_creator = user(email="theo@example.com")
    creator_page(title="Theo", slug="theo", creator=other_creator)
    client = client_of(other_creator)

    client.post(reverse("reviews:reply", args=[review.pk]), {"reply": "Rude"})
    client.post(reverse("reviews:hide", args=[review.pk]), {"hidden": "1"})
    client.post(reverse("reviews:remove", args=[review.pk]))
    client_of(review.author).post(reverse("reviews:hide", args=[review.pk]), {"hidden": "1"})

    review.refresh_from_db()
    assert (review.reply, review.status) == ("", Review.Status.VISIBLE)
    assert client.get(reverse("reviews:remove", args=[review.pk])).status_code == 405


def test_the_reviews_section_costs_a_fixed_number_of_queries(course, django_assert_max_num_queries):
    _reviewed_course(course, [5])
    client = Client()
    with django_assert_max_num_queries(40) as few:
        client.get(course.url)
    _reviewed_course_more(course)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(course.url)


def _reviewed_course_more(course) -> None:
    for n in range(10, 16):
        person = learner(email=f"m{n}@example.com")
        complete(enroll(person, course), course, 2)
        services.write_review(author=person, page=course, rating=3)


def test_a_new_review_and_a_hidden_one_show_on_the_cached_public_page_at_once(maya, course):
    anonymous = Client()
    for _ in range(3):  # the path's token, then the stored page, then a hit
        response = anonymous.get(course.url)
    assert response[HIT_HEADER] == "hit"
    assert "No reviews yet." in response.content.decode()
    bea = learner(email="bea@example.com", first_name="Bea")
    complete(enroll(bea, course), course, 2)

    review = services.write_review(author=bea, page=course, rating=5, body="Proofing explained")

    html = anonymous.get(course.url).content.decode()
    assert "Proofing explained" in html
    assert "No reviews yet." not in html
    services.set_hidden(user=maya, review=review, hidden=True)
    assert "Proofing explained" not in anonymous.get(course.url).content.decode()


def test_listing_cards_show_each_items_rating(course):
    catalog = catalog_page()
    _reviewed_course(course, [5, 4])
    unrated = course_page(title="Knife skills", lessons=1)

    html = Client().get(catalog.url).content.decode()

    assert "4.5 (2 reviews)" in html
    assert html.count("offer-card__rating") == 1  # the unrated course shows none
    assert unrated.title in html
