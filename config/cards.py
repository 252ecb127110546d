"""The one card every listing shows (catalog, workshop list, storefront, search, home page).

Each app builds its cards (``courses.selectors.course_cards``,
``workshops.selectors.workshop_card``); ``templates/components/card.html`` renders any of them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Card:
    """What a card shows. ``page`` gives the link and title; everything else is optional.

    ``rating`` (an average, 1-5) with ``rating_count``, and ``discounted_price`` (a formatted
    amount shown beside the struck-through ``price_display``) are filled by reviews and follower
    codes when they apply; the template renders them only when given.
    """

    page: Any
    kind: str
    image: Any = None
    creator: Any = None
    summary: str = ""
    price_display: str = ""
    is_free: bool = False
    # "5 lessons" for a course; a workshop has ``starts_at`` (and its creator's zone) instead.
    length: str = ""
    starts_at: datetime | None = None
    status: str = ""
    tags: list[str] = field(default_factory=list)
    rating: float | None = None
    rating_count: int = 0
    discounted_price: str = ""
