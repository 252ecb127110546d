"""The signed token in a lesson e-mail's one-click pause link.

The token is the enrolment id signed with the site's secret key and a salt of its own, so a
token made for another purpose (or by anyone without the key) never pauses a course. It does
not expire: a learner may click the link in a lesson e-mail from weeks ago, and pausing is
harmless and undone by resuming. The same enrolment always gets the same token, so the
``List-Unsubscribe`` header of every lesson of a course is identical.
"""

from django.core import signing

# Not a secret: the salt only keeps these signatures apart from the site's other ones.
PAUSE_TOKEN_SALT = "courses.pause-lesson-emails"  # noqa: S105


class BadPauseToken(Exception):
    """The token was tampered with, truncated, or made for something else."""


def make_pause_token(*, enrollment_id: int) -> str:
    return signing.Signer(salt=PAUSE_TOKEN_SALT).sign(str(enrollment_id))


def read_pause_token(token: str) -> int:
    """The enrolment id inside ``token``; ``BadPauseToken`` for anything we did not sign."""
    try:
        value = signing.Signer(salt=PAUSE_TOKEN_SALT).unsign(token)
    except signing.BadSignature as error:
        raise BadPauseToken(str(error)) from error
    if not value.isdigit():
        # Only reachable with our key, but a token must never crash the view.
        raise BadPauseToken("not an enrolment id")
    return int(value)
