"""Reads of the creator studio: a creator's figures, in a fixed number of aggregate queries.

Every function here runs a constant number of queries however many learners, orders or
deliveries there are (GROUP BY in the database, never a loop over rows); the count grows only
with the number of courses, lessons and workshops shown, through none of these functions.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import OutboundEmail
from config.mail import absolute_url
from config.money import format_money, minor_unit_exponent
from courses.models import CoursePage, Enrollment, LessonDelivery, LessonPage, LessonProgress
from home.models import Announcement, CreatorApplication, CreatorPage
from payments.models import ConnectedAccount, DiscountCode, Order
from payments.selectors import connect_states, sold_below
from workshops.models import Registration, SeatInventory, WaitlistEntry, WorkshopPage

WEEKS = 12


def storefront_of(user) -> CreatorPage | None:
    if not user.is_authenticated:
        return None
    return CreatorPage.objects.filter(creator=user).first()


def may_use_studio(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_staff or CreatorPage.objects.filter(creator=user).exists())
    )


def storefronts() -> QuerySet[CreatorPage]:
    """Every storefront, for the staff's creator picker."""
    return CreatorPage.objects.order_by("title")


@dataclass(frozen=True)
class AnnouncementLog:
    """An announcement and what its recipients' outbox rows say."""

    announcement: Announcement
    sent: int
    waiting: int  # not sent yet, retries included
    not_delivered: int  # refused, or skipped because the address bounces


def announcement_log(storefront: CreatorPage, *, limit: int = 20) -> list[AnnouncementLog]:
    """The storefront's latest announcements, newest first, with their delivery counts."""
    email_status = "recipient_rows__email__status"
    Status = OutboundEmail.Status
    rows = (
        Announcement.objects.filter(
            Q(course__path__startswith=storefront.path)
            | Q(workshop__path__startswith=storefront.path)
        )
        .select_related("course", "workshop")
        .annotate(
            sent_count=Count("recipient_rows", filter=Q(**{email_status: Status.SENT})),
            waiting_count=Count(
                "recipient_rows",
                filter=Q(**{f"{email_status}__in": [Status.PENDING, Status.SENDING]}),
            ),
            failed_count=Count(
                "recipient_rows",
                filter=Q(**{f"{email_status}__in": [Status.FAILED, Status.SKIPPED]}),
            ),
        )[:limit]
    )
    return [
        AnnouncementLog(
            announcement=row,
            sent=row.sent_count,
            waiting=row.waiting_count,
            not_delivered=row.failed_count,
        )
        for row in rows
    ]


def pending_applications() -> QuerySet[CreatorApplication]:
    return CreatorApplication.objects.filter(status=CreatorApplication.Status.PENDING)


@dataclass
class Money:
    """Gross, refunds, the platform's fees and the creator's net of one currency, in minor
    units. Refunds count what was given back (partial refunds too); fees are what the
    platform kept (its fee less the part refunds gave back); net is the creator's share."""

    currency: str
    gross: int = 0
    refunds: int = 0
    fees: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.refunds - self.fees

    @property
    def fees_display(self) -> str:
        return format_money(self.fees, self.currency)

    @property
    def gross_display(self) -> str:
        return format_money(self.gross, self.currency)

    @property
    def refunds_display(self) -> str:
        return format_money(self.refunds, self.currency)

    @property
    def net_display(self) -> str:
        return format_money(self.net, self.currency)


@dataclass
class LessonFunnel:
    lesson_id: int
    title: str
    day: int
    delivered: int = 0
    opened: int = 0
    completed: int = 0


@dataclass
class CourseStats:
    course_id: int
    title: str
    enrollments: int = 0
    # Completion counts enrolments that still have access: a refund leaves the course.
    active_or_paused: int = 0
    completed: int = 0
    weekly: list[tuple[date, int]] = field(default_factory=list)
    revenue: list[Money] = field(default_factory=list)
    lessons: list[LessonFunnel] = field(default_factory=list)

    @property
    def completion_rate(self) -> float:
        if not self.active_or_paused:
            return 0.0
        return self.completed / self.active_or_paused

    @property
    def completion_percent(self) -> int:
        return round(100 * self.completion_rate)


@dataclass
class WorkshopStats:
    workshop_id: int
    title: str
    starts_at: datetime
    capacity: int
    confirmed: int = 0
    held: int = 0
    offered: int = 0
    waitlist: int = 0
    # From the workshop's seat orders, by currency: gross, refunds, net.
    revenue: list[Money] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max(self.capacity - self.confirmed - self.held - self.offered, 0)


@dataclass
class StudioStats:
    storefront: CreatorPage
    weeks: list[date]
    courses: list[CourseStats]
    workshops: list[WorkshopStats]
    totals: list[Money]


# Orders that were sold (paid, later refunded or not), and the platform's fee kept on them.
_SOLD = Q(status__in=[Order.Status.PAID, Order.Status.REFUNDED])
_FEES_KEPT = Sum(F("platform_fee_amount") - F("platform_fee_refunded"), filter=_SOLD)


def week_starts(now: datetime, weeks: int = WEEKS) -> list[date]:
    """The Mondays (UTC) of the last ``weeks`` weeks, the current one last."""
    today = now.astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _below(storefront: CreatorPage) -> Q:
    return Q(path__startswith=storefront.path, depth__gt=storefront.depth)


def _money(rows: Iterable[Any]) -> dict[tuple, Money]:
    result: dict[tuple, Money] = {}
    for row in rows:
        key = (row["course_id"], row["currency"])
        result[key] = Money(
            row["currency"], row["gross"] or 0, row["refunds"] or 0, row["fees"] or 0
        )
    return result


def course_stats(*, storefront: CreatorPage, now: datetime | None = None) -> list[CourseStats]:
    """Six queries for all of a storefront's courses."""
    now = now or timezone.now()
    weeks = week_starts(now)
    courses = {
        row["pk"]: CourseStats(course_id=row["pk"], title=row["title"])
        for row in CoursePage.objects.filter(_below(storefront))
        .order_by("path")
        .values("pk", "title")
    }
    if not courses:
        return []
    for row in (
        Enrollment.objects.filter(course_id__in=courses)
        .values("course_id")
        .annotate(
            total=Count("pk"),
            current=Count("pk", filter=~Q(status=Enrollment.Status.REFUNDED)),
            done=Count(
                "pk",
                filter=~Q(status=Enrollment.Status.REFUNDED) & Q(completed_at__isnull=False),
            ),
        )
        .order_by()
    ):
        stats = courses[row["course_id"]]
        stats.enrollments, stats.active_or_paused, stats.completed = (
            row["total"],
            row["current"],
            row["done"],
        )
    weekly: dict[tuple[int, date], int] = {}
    for week_row in (
        Enrollment.objects.filter(
            course_id__in=courses,
            enrolled_at__gte=datetime.combine(weeks[0], datetime.min.time(), tzinfo=UTC),
        )
        .annotate(week=TruncWeek("enrolled_at", tzinfo=UTC))
        .values("course_id", "week")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        weekly[(week_row["course_id"], week_row["week"].date())] = week_row["n"]
    for stats in courses.values():
        stats.weekly = [(week, weekly.get((stats.course_id, week), 0)) for week in weeks]
    for (course_id, _currency), money in sorted(
        _money(
            Order.objects.filter(course_id__in=courses)
            .values("course_id", "currency")
            .annotate(
                # Gross: every order that was paid, refunded ones included; refunds: what
                # was given back of those (partial refunds too); fees: what the platform kept.
                gross=Sum("amount", filter=_SOLD),
                refunds=Sum("amount_refunded", filter=_SOLD),
                fees=_FEES_KEPT,
            )
            .order_by()
        ).items()
    ):
        if money.gross:
            courses[course_id].revenue.append(money)
    lessons: dict[int, LessonFunnel] = {}
    lesson_rows = (
        LessonPage.objects.filter(_below(storefront), live=True)
        .order_by("day", "path")
        .values("pk", "title", "day", "path")
    )
    by_path = {
        page["path"]: page["pk"]
        for page in CoursePage.objects.filter(pk__in=courses).values("pk", "path")
    }
    for row in lesson_rows:
        course_id = by_path.get(row["path"][: -LessonPage.steplen])
        if course_id is None:
            continue
        funnel = LessonFunnel(lesson_id=row["pk"], title=row["title"], day=row["day"])
        lessons[row["pk"]] = funnel
        courses[course_id].lessons.append(funnel)
    for sent_row in (
        LessonDelivery.objects.filter(lesson_id__in=lessons, status=LessonDelivery.Status.SENT)
        .values("lesson_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        lessons[sent_row["lesson_id"]].delivered = sent_row["n"]
    for progress_row in (
        LessonProgress.objects.filter(lesson_id__in=lessons)
        .values("lesson_id")
        .annotate(
            opened=Count("pk", filter=Q(first_opened_at__isnull=False)),
            completed=Count("pk", filter=Q(completed_at__isnull=False)),
        )
        .order_by()
    ):
        lessons[progress_row["lesson_id"]].opened = progress_row["opened"]
        lessons[progress_row["lesson_id"]].completed = progress_row["completed"]
    return list(courses.values())


def workshop_stats(*, storefront: CreatorPage) -> list[WorkshopStats]:
    """Four queries for all of a storefront's workshops."""
    workshops: dict[int, WorkshopStats] = {}
    for row in (
        WorkshopPage.objects.filter(_below(storefront))
        .order_by("-starts_at")
        .values("pk", "title", "starts_at", "capacity")
    ):
        workshops[row["pk"]] = WorkshopStats(
            workshop_id=row["pk"],
            title=row["title"],
            starts_at=row["starts_at"],
            capacity=row["capacity"],
        )
    if not workshops:
        return []
    for row in SeatInventory.objects.filter(workshop_id__in=workshops).values(
        "workshop_id", "capacity", "held", "confirmed", "offered"
    ):
        stats = workshops[row["workshop_id"]]
        stats.capacity, stats.held, stats.confirmed, stats.offered = (
            row["capacity"],
            row["held"],
            row["confirmed"],
            row["offered"],
        )
    for row in (
        WaitlistEntry.objects.filter(workshop_id__in=workshops, status=WaitlistEntry.Status.WAITING)
        .values("workshop_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        workshops[row["workshop_id"]].waitlist = row["n"]
    for row in (
        Order.objects.filter(workshop_registration__workshop_id__in=workshops)
        .values("workshop_registration__workshop_id", "currency")
        .annotate(
            gross=Sum("amount", filter=_SOLD),
            refunds=Sum("amount_refunded", filter=_SOLD),
            fees=_FEES_KEPT,
        )
        .order_by("currency")
    ):
        money = Money(row["currency"], row["gross"] or 0, row["refunds"] or 0, row["fees"] or 0)
        if money.gross:
            workshops[row["workshop_registration__workshop_id"]].revenue.append(money)
    return list(workshops.values())


def studio_stats(*, storefront: CreatorPage, now: datetime | None = None) -> StudioStats:
    now = now or timezone.now()
    courses = course_stats(storefront=storefront, now=now)
    workshops = workshop_stats(storefront=storefront)
    totals: dict[str, Money] = defaultdict(lambda: Money(""))
    for money in [
        *(m for course in courses for m in course.revenue),
        *(m for workshop in workshops for m in workshop.revenue),
    ]:
        total = totals.setdefault(money.currency, Money(money.currency))
        total.gross += money.gross
        total.refunds += money.refunds
        total.fees += money.fees
    return StudioStats(
        storefront=storefront,
        weeks=week_starts(now),
        courses=courses,
        workshops=workshops,
        totals=[totals[currency] for currency in sorted(totals)],
    )


# CSV exports: the rows of the creator's own items only.


def learner_rows(*, storefront: CreatorPage) -> Iterator[list[str]]:
    yield ["kind", "item", "email", "name", "status", "since", "completed_at"]
    for row in (
        Enrollment.objects.filter(course__path__startswith=storefront.path)
        .order_by("course__title", "enrolled_at", "pk")
        .values_list(
            "course__title",
            "learner__email",
            "learner__first_name",
            "status",
            "enrolled_at",
            "completed_at",
        )
        .iterator()
    ):
        title, email, name, status, since, completed = row
        yield ["course", title, email, name, status, _iso(since), _iso(completed)]
    for seat in (
        Registration.objects.filter(workshop__path__startswith=storefront.path)
        .order_by("workshop__title", "created_at", "pk")
        .values_list(
            "workshop__title", "learner__email", "learner__first_name", "status", "created_at"
        )
        .iterator()
    ):
        title, email, name, status, since = seat
        yield ["workshop", title, email, name, status, _iso(since), ""]


def order_rows(*, storefront: CreatorPage) -> Iterator[list[str]]:
    yield [
        "order",
        "created_at",
        "item",
        "buyer",
        "amount",
        "currency",
        "status",
        "paid_at",
        "refunded_at",
        # The ledger: what was refunded, the platform's fee and the creator's share after
        # refunds, and where the share went (a connected account, or "platform": owed).
        "refunded",
        "platform_fee",
        "creator_share",
        "paid_to",
    ]
    for order in (
        Order.objects.filter(sold_below(storefront.path))
        .select_related("buyer")
        .only(
            "pk",
            "created_at",
            "item_title",
            "buyer__email",
            "amount",
            "currency",
            "status",
            "paid_at",
            "refunded_at",
            "amount_refunded",
            "platform_fee_amount",
            "platform_fee_refunded",
            "creator_share_amount",
            "destination_account_id",
        )
        .order_by("created_at", "pk")
        .iterator()
    ):
        yield [
            str(order.pk),
            _iso(order.created_at),
            order.item_title,
            order.buyer.email,
            _major(order.amount, order.currency),
            order.currency,
            order.status,
            _iso(order.paid_at),
            _iso(order.refunded_at),
            *_ledger_cells(order),
        ]


def _ledger_cells(order: Order) -> list[str]:
    """Refunded, fee kept, creator's share after refunds, paid to: for sold orders only."""
    if order.status not in (Order.Status.PAID, Order.Status.REFUNDED):
        return ["", "", "", ""]
    share_reversed = order.amount_refunded - order.platform_fee_refunded
    return [
        _major(order.amount_refunded, order.currency),
        _major(order.platform_fee_amount - order.platform_fee_refunded, order.currency),
        _major(order.creator_share_amount - share_reversed, order.currency),
        order.destination_account_id or "platform",
    ]


def _major(amount: int, currency: str) -> str:
    """Minor units as the plain decimal a spreadsheet reads: 4900 EUR -> "49.00"."""
    return str(Decimal(amount).scaleb(-minor_unit_exponent(currency)))


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


@dataclass
class CreatorRevenue:
    storefront: CreatorPage
    revenue: list[Money]
    # Their Stripe connected account (None: not connected; sales stay on the platform).
    account: ConnectedAccount | None = None


@dataclass
class StaffOverview:
    creators: list[CreatorRevenue]
    pending_applications: int
    totals: list[Money]
    learners: int
    enrollments: int


def staff_overview() -> StaffOverview:
    """Every creator with their revenue and Stripe account state, pending applications,
    platform totals (its fee revenue per currency): six queries.

    Orders are grouped by the storefront part of their course's tree path, in the database.
    """
    pages = list(storefronts())
    by_path = {page.path: page for page in pages}
    revenue: dict[str, list[Money]] = defaultdict(list)
    totals: dict[str, Money] = {}
    if pages:
        length = pages[0].depth * CreatorPage.steplen
        for row in (
            Order.objects.filter(status__in=[Order.Status.PAID, Order.Status.REFUNDED])
            .annotate(
                storefront_path=Substr(
                    Coalesce("course__path", "workshop_registration__workshop__path"), 1, length
                )
            )
            .values("storefront_path", "currency")
            .annotate(
                gross=Sum("amount"),
                refunds=Sum("amount_refunded"),
                fees=_FEES_KEPT,
            )
            .order_by("storefront_path", "currency")
        ):
            money = Money(row["currency"], row["gross"] or 0, row["refunds"] or 0, row["fees"] or 0)
            if row["storefront_path"] in by_path:
                revenue[row["storefront_path"]].append(money)
            total = totals.setdefault(money.currency, Money(money.currency))
            total.gross += money.gross
            total.refunds += money.refunds
            total.fees += money.fees
    counts = Enrollment.objects.aggregate(
        enrollments=Count("pk"), learners=Count("learner", distinct=True)
    )
    accounts = connect_states()
    return StaffOverview(
        creators=[
            CreatorRevenue(
                page,
                revenue.get(page.path, []),
                accounts.get(page.creator_id) if page.creator_id else None,
            )
            for page in pages
        ],
        pending_applications=pending_applications().count(),
        totals=[totals[currency] for currency in sorted(totals)],
        learners=counts["learners"],
        enrollments=counts["enrollments"],
    )


@dataclass(frozen=True)
class ShareLink:
    title: str
    kind: str
    url: str
    # (code name, the link that applies it) for each of the creator's usable codes here.
    with_codes: tuple[tuple[str, str], ...] = ()


def _usable_codes(storefront: CreatorPage, now) -> list[DiscountCode]:
    return [
        code
        for code in DiscountCode.objects.filter(creator_id=storefront.creator_id, active=True)
        if (code.expires_at is None or code.expires_at > now)
        and (code.max_uses is None or code.uses_taken < code.max_uses)
    ]


def share_links(*, storefront: CreatorPage, now=None) -> list[ShareLink]:
    """The public address of the storefront and of each of its live courses and workshops,
    for the studio's share panel (a creator pastes them into a profile or a post), each also
    with every follower code of the creator's that applies to it (``?code=NAME``)."""
    codes = _usable_codes(storefront, now or timezone.now()) if storefront.creator_id else []

    def link(page, kind: str) -> ShareLink:
        url = absolute_url(page.url or "/")
        applying = [
            code
            for code in codes
            if code.item_id is None or (page.pk != storefront.pk and code.item_id == page.pk)
        ]
        return ShareLink(
            page.title,
            kind,
            url,
            tuple((code.name, f"{url}?code={code.name}") for code in applying),
        )

    links = [link(storefront, gettext("Storefront"))]
    for page in storefront.get_children().live().public().specific().order_by("title"):
        kind = gettext("Workshop") if isinstance(page, WorkshopPage) else gettext("Course")
        links.append(link(page, kind))
    return links
