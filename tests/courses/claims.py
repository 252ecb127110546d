"""The claim token of claimed lesson deliveries, for tests that run the send step themselves."""

from courses.models import LessonDelivery


def claim_token_of(delivery_ids: list[int]) -> str:
    """The claim token the dispatcher gave ``delivery_ids`` (what their send task carries)."""
    tokens = set(
        LessonDelivery.objects.filter(pk__in=delivery_ids).values_list("claim_token", flat=True)
    )
    assert len(tokens) == 1 and None not in tokens, tokens
    return str(tokens.pop())
