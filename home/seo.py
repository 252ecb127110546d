"""What a page tells search engines and social sites: its share card and its structured data.

``share_card`` gives the Open Graph / Twitter values of any page (or of a view that is not a
page); ``structured_data`` gives schema.org JSON-LD for courses (``Course``) and workshops
(``Event``). ``home`` may read every app, so this is where both live.
"""

import json
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from wagtail.models import Page

from config.mail import absolute_url
from config.money import minor_unit_exponent
from courses.models import CoursePage
from home.models import CreatorPage
from home.reviews.selectors import rating_summary
from workshops.models import WorkshopFormat, WorkshopPage

SITE_NAME = "microcourses"
# Open Graph's recommended size: the 1.91:1 card Facebook, LinkedIn, Slack and X all show.
SHARE_IMAGE_SPEC = "fill-1200x630"
SHARE_IMAGE_SIZE = (1200, 630)
DEFAULT_SHARE_IMAGE = "img/share-default.png"


@dataclass(frozen=True)
class ShareCard:
    title: str
    description: str
    url: str
    image_url: str
    image_width: int
    image_height: int
    image_alt: str
    og_type: str


def canonical_url(request, page: Page | None) -> str:
    """The one address of what is shown: the page's URL, or the path without its query."""
    path = page.get_url(request=request) if page is not None else request.path
    return absolute_url(path or request.path)


def share_card(*, request, page: Page | None, title: str = "") -> ShareCard:
    page = page.specific if page is not None else None
    description = ""
    if page is not None:
        description = (
            page.search_description
            or getattr(page, "tagline", "")
            or getattr(page, "niche", "")
            or getattr(page, "introduction", "")
            or getattr(page, "hero_text", "")
        )
    image = getattr(page, "share_image", None)
    if image is not None:
        rendition = image.get_rendition(SHARE_IMAGE_SPEC)
        image_url, width, height = absolute_url(rendition.url), rendition.width, rendition.height
        image_alt = image.default_alt_text or (page.title if page else SITE_NAME)
    else:
        image_url = absolute_url(static(DEFAULT_SHARE_IMAGE))
        width, height = SHARE_IMAGE_SIZE
        image_alt = SITE_NAME
    og_type = "website"
    if isinstance(page, CoursePage | WorkshopPage):
        og_type = "product" if not page.is_free else "website"
    elif isinstance(page, CreatorPage):
        og_type = "profile"
    return ShareCard(
        title=(page.seo_title or page.title) if page is not None else title,
        description=strip_tags(str(description))[:300],
        url=canonical_url(request, page),
        image_url=image_url,
        image_width=width,
        image_height=height,
        image_alt=image_alt,
        og_type=og_type,
    )


def _price(amount_minor: int, currency: str) -> str:
    """Schema.org wants a plain decimal in major units: 1500 EUR cents -> "15.00"."""
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


def _offer(*, page: CoursePage | WorkshopPage, url: str, available: bool) -> dict[str, Any]:
    return {
        "@type": "Offer",
        "url": url,
        "price": _price(page.price_amount, page.currency),
        "priceCurrency": page.currency,
        "category": "Free" if page.is_free else "Paid",
        "availability": "https://schema.org/InStock" if available else "https://schema.org/SoldOut",
    }


def course_data(*, course: CoursePage, url: str, image_url: str) -> dict[str, Any]:
    creator = course.storefront
    lessons = len(course.outline().lessons)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Course",
        "name": course.title,
        "description": course.search_description or course.tagline or course.title,
        "url": url,
        "image": image_url,
        "inLanguage": settings.LANGUAGE_CODE,
        "provider": {"@type": "Organization", "name": SITE_NAME, "sameAs": settings.SITE_URL},
        "creator": {
            "@type": "Person",
            "name": creator.title,
            "url": absolute_url(creator.url or "/"),
        },
        "offers": [_offer(page=course, url=url, available=True)],
        "hasCourseInstance": [
            {
                "@type": "CourseInstance",
                "courseMode": "Online",
                # One lesson a day by e-mail: the workload is the number of days.
                "courseSchedule": {
                    "@type": "Schedule",
                    "repeatFrequency": "Daily",
                    "repeatCount": lessons,
                },
            }
        ],
    }
    if course.cohort_start_date:
        data["hasCourseInstance"][0]["startDate"] = course.cohort_start_date.isoformat()
    return data


def workshop_data(*, workshop: WorkshopPage, url: str, image_url: str) -> dict[str, Any]:
    from workshops.selectors import seats_left

    creator = workshop.get_parent()
    zone = zoneinfo.ZoneInfo(workshop.time_zone)
    remaining = seats_left(workshop)
    cancelled = getattr(getattr(workshop, "seats", None), "cancelled_at", None) is not None
    online = workshop.format == WorkshopFormat.ONLINE
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": workshop.title,
        "description": workshop.search_description or workshop.tagline or workshop.title,
        "url": url,
        "image": [image_url],
        # In the creator's zone, with its offset: the moment and the local time both survive.
        "startDate": workshop.starts_at.astimezone(zone).isoformat(),
        "endDate": workshop.ends_at.astimezone(zone).isoformat(),
        "eventStatus": "https://schema.org/EventCancelled"
        if cancelled
        else "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode"
        if online
        else "https://schema.org/OfflineEventAttendanceMode",
        "location": {"@type": "VirtualLocation", "url": url}
        if online
        else {"@type": "Place", "name": workshop.title, "address": workshop.address},
        "organizer": {
            "@type": "Person",
            "name": creator.title,
            "url": absolute_url(creator.url or "/"),
        },
        "performer": {"@type": "Person", "name": creator.title},
        "maximumAttendeeCapacity": workshop.capacity,
        "remainingAttendeeCapacity": remaining,
        "offers": [_offer(page=workshop, url=url, available=remaining > 0 and not cancelled)],
    }
    return data


def structured_data(*, page: Page | None, card: ShareCard) -> dict[str, Any] | None:
    if isinstance(page, CoursePage):
        data = course_data(course=page, url=card.url, image_url=card.image_url)
    elif isinstance(page, WorkshopPage):
        data = workshop_data(workshop=page, url=card.url, image_url=card.image_url)
    else:
        return None
    # Learners' ratings, when there are any (schema.org forbids an empty aggregateRating).
    rating = rating_summary(page).as_aggregate_rating()
    if rating is not None:
        data["aggregateRating"] = rating
    return data


def json_ld(data: dict[str, Any]) -> SafeString:
    """JSON that is safe inside a <script> element: no "</script>" can close it early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above
