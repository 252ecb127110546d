"""Share cards and structured data: Open Graph, Twitter, canonical URLs and JSON-LD, parsed."""

import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from courses import services as course_services
from home.demo_images import demo_image
from home.reviews import services as review_services
from tests.courses.factories import catalog_page, course_page, enroll, learner
from tests.home.factories import creator_page
from tests.workshops.factories import a_learner, paid_workshop
from workshops import services as workshop_services

pytestmark = pytest.mark.django_db


class HeadParser(HTMLParser):
    """The <meta>, <link rel=canonical> and JSON-LD blocks of a page."""

    def __init__(self):
        super().__init__()
        self.meta: dict[str, str] = {}
        self.canonical: list[str] = []
        self.json_ld: list[dict] = []
        self._in_json_ld = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content", "")
        elif tag == "link" and attrs.get("rel") == "canonical":
            self.canonical.append(attrs["href"])
        elif tag == "script" and attrs.get("type") == "application/ld+json":
            self._in_json_ld = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json_ld = False

    def handle_data(self, data):
        if self._in_json_ld:
            self.json_ld.append(json.loads(data))


def parse(response) -> HeadParser:
    assert response.status_code == 200
    parser = HeadParser()
    parser.feed(response.content.decode())
    return parser


def assert_share_card(head: HeadParser, *, title: str, url: str):
    assert head.canonical == [url]
    assert head.meta["og:url"] == url
    assert head.meta["og:title"] == head.meta["twitter:title"] == title
    assert head.meta["twitter:card"] == "summary_large_image"
    assert head.meta["og:image"] == head.meta["twitter:image"]
    assert head.meta["og:image"].startswith("http://testserver/")
    assert (head.meta["og:image:width"], head.meta["og:image:height"]) == ("1200", "630")


def test_course_page_has_a_share_card_with_a_1200x630_cover_and_course_json_ld(client):
    cover = demo_image(title="Sourdough cover", size=(1600, 900), text="Sourdough")
    creator = creator_page(title="Maya Okafor", slug="maya")
    course = course_page(
        creator=creator,
        title="Weekday sourdough",
        tagline="A real loaf around a working week.",
        price_amount=4900,
        currency="EUR",
        cover_image=cover,
        lessons=5,
    )

    head = parse(client.get(course.url))

    url = "http://testserver/maya/weekday-sourdough/"
    assert_share_card(head, title="Weekday sourdough", url=url)
    assert head.meta["og:description"] == "A real loaf around a working week."
    rendition = cover.get_rendition("fill-1200x630")
    assert head.meta["og:image"] == f"http://testserver{rendition.url}"
    assert (rendition.width, rendition.height) == (1200, 630)
    [data] = head.json_ld
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Course"
    assert data["name"] == "Weekday sourdough"
    assert data["url"] == url
    assert data["creator"] == {
        "@type": "Person",
        "name": "Maya Okafor",
        "url": "http://testserver/maya/",
    }
    assert data["offers"] == [
        {
            "@type": "Offer",
            "url": url,
            "price": "49.00",
            "priceCurrency": "EUR",
            "category": "Paid",
            "availability": "https://schema.org/InStock",
        }
    ]
    assert data["provider"]["name"] == "microcourses"
    assert data["hasCourseInstance"][0]["courseMode"] == "Online"
    assert data["hasCourseInstance"][0]["courseSchedule"]["repeatCount"] == 5


def test_workshop_page_has_event_json_ld_with_offset_offers_and_remaining_seats(client):
    creator = creator_page(title="Theo Lindqvist", slug="theo")
    workshop = paid_workshop(
        parent=creator,
        title="Window functions clinic",
        slug="window-functions",
        tagline="Bring your query.",
        starts_at=datetime(2031, 3, 10, 23, 30, tzinfo=UTC),
        time_zone="America/New_York",
        duration_minutes=90,
        capacity=10,
        price_amount=2500,
        currency="USD",
    )
    # Two seats taken: one paid for, one held while its buyer pays.
    paid, _holding = (
        workshop_services.hold_seat(workshop=workshop, learner=a_learner()) for _ in range(2)
    )
    workshop_services.confirm_paid_seat(registration_id=paid.pk)

    head = parse(client.get(workshop.url))

    url = "http://testserver/theo/window-functions/"
    assert_share_card(head, title="Window functions clinic", url=url)
    # No cover: the site's own 1200x630 share image.
    assert head.meta["og:image"].endswith(".png")
    [data] = head.json_ld
    assert data["@type"] == "Event"
    # 23:30 UTC on 10 March 2031 is 19:30 in New York (EDT, since 9 March).
    assert data["startDate"] == "2031-03-10T19:30:00-04:00"
    assert data["endDate"] == "2031-03-10T21:00:00-04:00"
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["location"] == {"@type": "VirtualLocation", "url": url}
    assert data["organizer"]["name"] == "Theo Lindqvist"
    assert data["maximumAttendeeCapacity"] == 10
    assert data["remainingAttendeeCapacity"] == 8
    assert data["offers"][0]["price"] == "25.00"
    assert data["offers"][0]["priceCurrency"] == "USD"
    assert data["offers"][0]["availability"] == "https://schema.org/InStock"
    # The join link is for registrants only: never in what the page tells the world.
    assert "meet.example.com" not in json.dumps(data)


def test_json_ld_cannot_close_its_script_element(client):
    course = course_page(title="Escaping </script><script>alert(1)</script>")

    html = client.get(course.url).content.decode()

    assert "</script><script>alert(1)" not in html
    head = parse(client.get(course.url))
    assert head.json_ld[0]["name"] == "Escaping </script><script>alert(1)</script>"


def test_listing_and_plain_pages_have_a_canonical_url_without_the_query(client):
    catalog = catalog_page()

    head = parse(client.get(catalog.url + "?topic=baking&page=1"))

    assert head.canonical == ["http://testserver/courses/"]
    assert head.meta["og:type"] == "website"
    assert head.json_ld == []
    search = parse(client.get("/search/?query=bread"))
    assert search.canonical == ["http://testserver/search/"]


def test_a_reviewed_course_carries_its_aggregate_rating_in_json_ld(client):
    course = course_page(title="Weekday sourdough", lessons=2)
    assert "aggregateRating" not in parse(client.get(course.url)).json_ld[0]
    for n, rating in enumerate([5, 4]):
        reader = learner(email=f"reader{n}@example.com")
        enrollment = enroll(reader, course)
        for lesson in course.lessons():
            course_services.complete_lesson(enrollment=enrollment, lesson=lesson)
        review_services.write_review(author=reader, page=course, rating=rating)

    [data] = parse(client.get(course.url)).json_ld

    assert data["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": "4.5",
        "ratingCount": 2,
        "bestRating": 5,
        "worstRating": 1,
    }
