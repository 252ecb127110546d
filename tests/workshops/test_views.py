"""The learner's actions: each with its happy path and its bad input (clear message, nothing
changed, never a 500)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.workshops.factories import a_learner, in_minutes, paid_workshop, workshop_page
from workshops import services
from workshops.models import Registration, SeatInventory, WaitlistEntry
from workshops.tokens import claim_token

pytestmark = pytest.mark.django_db


def url(name: str, workshop) -> str:
    return reverse(f"workshops:{name}", args=[workshop.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def taken(workshop) -> int:
    return SeatInventory.objects.get(workshop=workshop).taken


@pytest.fixture
def signed_in(client, learner):
    client.force_login(learner)
    return client


# Registering


def test_register_takes_a_seat_and_returns_to_the_page(committed, signed_in, learner, mailoutbox):
    workshop = workshop_page()

    with committed():
        response = signed_in.post(url("register", workshop))

    assert response.status_code == 302
    assert response["Location"] == workshop.url
    assert Registration.objects.get(learner=learner).status == "confirmed"
    assert "You're registered." in messages_of(response)[0]
    assert len(mailoutbox) == 1


def test_register_asks_an_anonymous_visitor_to_sign_in_and_changes_nothing(client):
    workshop = workshop_page()

    response = client.post(url("register", workshop))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={workshop.url}"
    assert taken(workshop) == 0


def test_register_needs_post_and_a_csrf_token(learner):
    workshop = workshop_page()
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)

    assert client.get(url("register", workshop)).status_code == 405
    assert client.post(url("register", workshop)).status_code == 403
    assert taken(workshop) == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: paid_workshop(), "This workshop is paid: buy a seat instead."),
        (lambda: workshop_page(starts_at=in_minutes(-10)), "This workshop has already started."),
    ],
    ids=["paid-workshop", "started"],
)
def test_register_refusals_are_explained_and_change_nothing(signed_in, make, message):
    workshop = make()

    response = signed_in.post(url("register", workshop))

    assert response.status_code == 302
    assert messages_of(response) == [message]
    assert taken(workshop) == 0


def test_register_for_a_sold_out_workshop_points_to_the_waitlist(signed_in):
    workshop = workshop_page(capacity=1)
    services.register_free(learner=a_learner(), workshop=workshop)

    response = signed_in.post(url("register", workshop))

    assert "sold out" in messages_of(response)[0]
    assert taken(workshop) == 1


def test_unknown_or_unpublished_workshop_is_a_404(signed_in):
    workshop = workshop_page()
    workshop.unpublish()

    assert signed_in.post(url("register", workshop)).status_code == 404
    assert signed_in.post("/workshops/999999/register/").status_code == 404
    assert signed_in.post("/workshops/abc/register/").status_code == 404


# Cancelling


def test_cancel_gives_the_seat_back(signed_in, learner):
    workshop = workshop_page()
    services.register_free(learner=learner, workshop=workshop)

    response = signed_in.post(url("cancel", workshop))

    assert messages_of(response) == ["Your seat is cancelled."]
    assert Registration.objects.get(learner=learner).status == "cancelled"
    assert taken(workshop) == 0


def test_cancel_after_the_cutoff_is_refused(signed_in, learner):
    workshop = workshop_page(starts_at=in_minutes(120), cancellation_cutoff_hours=24)
    services.register_free(learner=learner, workshop=workshop)

    response = signed_in.post(url("cancel", workshop))

    assert messages_of(response) == ["The cancellation deadline for this workshop has passed."]
    assert taken(workshop) == 1


def test_cancel_without_a_seat_says_so(signed_in):
    workshop = workshop_page()

    response = signed_in.post(url("cancel", workshop))

    assert messages_of(response) == ["You have no seat at this workshop to cancel."]


# The waitlist


def test_join_and_leave_the_waitlist(signed_in, learner):
    workshop = workshop_page(capacity=1)
    services.register_free(learner=a_learner(), workshop=workshop)

    joined = signed_in.post(url("join_waitlist", workshop))
    assert "You're on the waitlist." in messages_of(joined)[0]
    assert WaitlistEntry.objects.get(learner=learner).status == "waiting"

    left = signed_in.post(url("leave_waitlist", workshop))
    assert messages_of(left)[-1] == "You left the waitlist."
    assert WaitlistEntry.objects.get(learner=learner).status == "left"

    again = signed_in.post(url("leave_waitlist", workshop))
    assert messages_of(again)[-1] == "You're not on the waitlist of this workshop."


def test_joining_the_waitlist_of_a_workshop_with_seats_is_refused(signed_in):
    workshop = workshop_page()

    response = signed_in.post(url("join_waitlist", workshop))

    assert messages_of(response) == ["Seats are still available: register instead."]
    assert not WaitlistEntry.objects.exists()


# Claiming a waitlist offer


@pytest.fixture
def offer(committed, learner):
    workshop = workshop_page(capacity=1)
    registration = services.register_free(learner=a_learner(), workshop=workshop)
    services.join_waitlist(learner=learner, workshop=workshop)
    with committed():
        services.cancel_registration(registration=registration)
    return WaitlistEntry.objects.get(learner=learner)


def claim_url(entry) -> str:
    return reverse("workshops:claim_offer", args=[claim_token(entry.pk)])


def test_claim_link_shows_the_offer_then_takes_the_seat(signed_in, offer, learner):
    page = signed_in.get(claim_url(offer))
    assert page.status_code == 200
    assert "is reserved for you until" in page.content.decode()
    assert "no-store" in page["Cache-Control"]

    response = signed_in.post(claim_url(offer))

    assert messages_of(response) == ["The seat is yours. See you there!"]
    assert Registration.objects.get(learner=learner).status == "confirmed"
    assert SeatInventory.objects.get(workshop=offer.workshop).confirmed == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_claim_link_is_a_clear_400_and_changes_nothing(signed_in, offer, method):
    token = claim_token(offer.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    response = getattr(signed_in, method)(reverse("workshops:claim_offer", args=[tampered]))

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert WaitlistEntry.objects.get(pk=offer.pk).status == "offered"


def test_someone_elses_claim_link_is_refused(client, offer):
    client.force_login(a_learner())

    response = client.post(claim_url(offer))

    assert response.status_code == 403
    assert "This offer is for someone else" in response.content.decode()
    assert WaitlistEntry.objects.get(pk=offer.pk).status == "offered"


def test_claim_link_asks_an_anonymous_visitor_to_sign_in(client, offer):
    response = client.get(claim_url(offer))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_claiming_an_expired_offer_is_refused(signed_in, offer):
    services.expire_offers(now=offer.offer_expires_at + timedelta(minutes=1))

    response = signed_in.post(claim_url(offer))

    assert messages_of(response) == ["This offer is no longer open."]
    assert not Registration.objects.filter(learner=offer.learner).exists()


def test_claim_page_of_a_paid_offer_posts_to_payments_checkout(committed, signed_in, learner):
    workshop = paid_workshop(capacity=1)
    hold = services.hold_seat(learner=a_learner(), workshop=workshop)
    services.join_waitlist(learner=learner, workshop=workshop)
    with committed():
        services.release_hold(registration_id=hold.pk)
    entry = WaitlistEntry.objects.get(learner=learner)

    html = signed_in.get(claim_url(entry)).content.decode()

    assert f'action="/payments/workshops/{workshop.pk}/buy/"' in html
    assert "Hold the seat and pay" in html
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "offered"


# The checked join link of the reminder e-mails


def test_join_link_redirects_a_confirmed_registrant_once_it_is_open(signed_in, learner):
    workshop = workshop_page(starts_at=in_minutes(30), join_url="https://meet.example.com/now")
    services.register_free(learner=learner, workshop=workshop)

    response = signed_in.get(url("join", workshop))

    assert response.status_code == 302
    assert response["Location"] == "https://meet.example.com/now"


def test_join_link_before_it_opens_explains_when(signed_in, learner):
    workshop = workshop_page(starts_at=in_minutes(180))
    services.register_free(learner=learner, workshop=workshop)

    response = signed_in.get(url("join", workshop))

    assert response["Location"] == workshop.url
    assert messages_of(response) == ["The join link opens an hour before the start. See you then!"]


def test_join_link_is_refused_without_a_seat(signed_in):
    workshop = workshop_page(starts_at=in_minutes(30))

    response = signed_in.get(url("join", workshop))

    assert response["Location"] == workshop.url
    assert messages_of(response) == ["The join link is for learners with a confirmed seat."]
