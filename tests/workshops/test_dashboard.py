"""The learner's workshops for the dashboard: selectors.learner_workshops and its partial."""

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.workshops.factories import a_learner, in_minutes, paid_workshop, workshop_page
from workshops import services
from workshops.selectors import learner_workshops

pytestmark = pytest.mark.django_db

JOIN_URL = "https://meet.example.com/open-now"


@pytest.fixture
def busy_learner(committed):
    """A learner with one of everything, at fixed times relative to now."""
    learner = a_learner(time_zone="Europe/Berlin")
    now = timezone.now()
    soon = workshop_page(title="Soon", starts_at=in_minutes(30), join_url=JOIN_URL)
    later = workshop_page(title="Later", starts_at=in_minutes(3 * 24 * 60))
    paying = paid_workshop(title="Paying", starts_at=in_minutes(2 * 24 * 60))
    done = workshop_page(
        title="Done",
        starts_at=in_minutes(-3 * 24 * 60),
        recording_url="https://video.example.com/r",
    )
    dropped = workshop_page(title="Dropped", starts_at=in_minutes(4 * 24 * 60))
    full = workshop_page(title="Full", capacity=1, starts_at=in_minutes(5 * 24 * 60))
    for workshop in (soon, later, dropped):
        services.register_free(learner=learner, workshop=workshop, now=now - timedelta(days=5))
    services.register_free(learner=learner, workshop=done, now=now - timedelta(days=5))
    services.hold_seat(learner=learner, workshop=paying)
    services.cancel_registration(
        registration=services.register_free(learner=a_learner(), workshop=dropped)
    )
    services.cancel_workshop(workshop=dropped)
    services.register_free(learner=a_learner(), workshop=full)
    services.join_waitlist(learner=learner, workshop=full)
    return learner


def test_upcoming_past_and_waitlist_with_what_the_dashboard_links_to(busy_learner):
    mine = learner_workshops(learner=busy_learner)

    assert [item.workshop.title for item in mine.upcoming] == ["Soon", "Paying", "Later"]
    soon, paying, later = mine.upcoming
    assert soon.join_url == JOIN_URL  # opens an hour before
    assert later.join_url == ""
    assert soon.ics_url == f"/workshops/{soon.workshop.pk}/invite.ics"
    assert (paying.status, paying.ics_url, paying.join_url) == ("held", "", "")
    assert paying.held_until is not None
    assert later.can_cancel and not soon.can_cancel  # the 24-hour cutoff has passed for "Soon"
    assert (soon.creator_zone, str(soon.starts_creator.tzinfo)) == ("America/New_York",) * 2
    assert [item.workshop.title for item in mine.past] == ["Done"]
    assert mine.past[0].recording_url == "https://video.example.com/r"
    assert [(place.workshop.title, place.offered) for place in mine.waitlist] == [("Full", False)]


def test_a_learner_with_nothing_gets_an_empty_falsy_result_in_two_queries(
    django_assert_num_queries,
):
    learner = a_learner()
    with django_assert_num_queries(2):
        assert not learner_workshops(learner=learner)


def test_query_count_is_fixed_whatever_the_number_of_workshops(busy_learner):
    learner = a_learner()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            learner_workshops(learner=learner)
        return len(captured)

    services.register_free(learner=learner, workshop=workshop_page())
    queries()  # warm up the site lookup cache behind page URLs
    with_one = queries()
    for _ in range(5):
        services.register_free(learner=learner, workshop=workshop_page())
    past = workshop_page(starts_at=in_minutes(-3000))
    services.register_free(learner=learner, workshop=past, now=past.starts_at - timedelta(days=1))

    assert queries() == with_one == 3


def test_dashboard_partial_renders_links_in_the_learners_zone(busy_learner):
    request = RequestFactory().get("/dashboard/")
    request.user = busy_learner

    with timezone.override(busy_learner.zone):
        html = render_to_string(
            "workshops/partials/dashboard_section.html",
            {"learner_workshops": learner_workshops(learner=busy_learner)},
            request=request,
        )

    assert "Live workshops" in html
    assert f'href="{JOIN_URL}"' in html
    assert "Add to calendar (.ics)" in html
    assert "finish paying on the workshop page" in html
    assert "Watch the recording" in html
    assert "waiting for a seat" in html
    assert "(Europe/Berlin)" in html
    assert "Dropped" not in html
