"""Signed links in workshop e-mails: the waitlist offer's claim link."""

from django.core import signing

_CLAIM_SALT = "workshops.waitlist-claim"


def claim_token(entry_id: int) -> str:
    return signing.dumps(entry_id, salt=_CLAIM_SALT)


def entry_id_from_claim_token(token: str) -> int | None:
    """The waitlist entry id, or None for a tampered or garbled token."""
    try:
        value = signing.loads(token, salt=_CLAIM_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None
