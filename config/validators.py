"""Validators shared by every app."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SINGLE_LINE_MESSAGE = _("Write this on one line: line breaks are not allowed here.")


def validate_single_line(value: str) -> None:
    """Refuse CR and LF: this text may end up in an e-mail header (a subject, a name), where a
    line break would start a new header or break the message."""
    if isinstance(value, str) and ("\r" in value or "\n" in value):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="line_break")
