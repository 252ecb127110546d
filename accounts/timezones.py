"""The one place that knows which time zone names a learner may choose."""

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@cache
def _known_timezones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk at every call.
    return frozenset(zoneinfo.available_timezones())


def timezone_names() -> list[str]:
    """Every IANA zone name the system's tz database knows, sorted."""
    return sorted(_known_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in _known_timezones()


def validate_timezone(name: str) -> None:
    if not is_valid_timezone(name):
        raise ValidationError(
            _("“%(name)s” is not a time zone we know. Pick one such as Europe/Berlin."),
            code="invalid_timezone",
            params={"name": name},
        )
