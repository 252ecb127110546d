"""Store every e-mail address in lower case (User.email and allauth's EmailAddress.email).

Two rows that differ only in casing cannot both be lowered without breaking uniqueness: they
are left as they are and reported (staff merge or remove one), and the migration goes on.
"""

import logging
from collections import defaultdict

from django.db import migrations

logger = logging.getLogger(__name__)


def _lower_all(model, *, label: str) -> list[str]:
    groups: dict[str, list] = defaultdict(list)
    for row in model.objects.all().only("pk", "email"):
        groups[row.email.strip().lower()].append(row)
    collisions = []
    for lowered, rows in groups.items():
        if len(rows) > 1:
            collisions.append(
                f"{label}: {len(rows)} rows share {lowered!r} in different casings "
                f"(ids {', '.join(str(row.pk) for row in rows)}); left unchanged"
            )
            continue
        row = rows[0]
        if row.email != lowered:
            model.objects.filter(pk=row.pk).update(email=lowered)
    return collisions


def normalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    collisions = _lower_all(User, label="accounts.User")
    collisions += _lower_all(EmailAddress, label="account.EmailAddress")
    for collision in collisions:
        logger.warning("E-mail normalisation: %s", collision)
        print(f"\n  WARNING e-mail normalisation: {collision}")  # noqa: T201  # migrate output


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
