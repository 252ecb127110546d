import zoneinfo
from datetime import UTC, datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.timezones import is_valid_timezone, timezone_names
from config.ownership import CreatorContentForm
from config.price_forms import MajorUnitPriceFormMixin
from config.publish_gate import PaidPublishGateForm


class WallClockDateTimeField(forms.DateTimeField):
    """A date and time as typed, without a zone: the form attaches the workshop's zone.

    Django's field would read the value in the editor's active zone, and refuse a time that
    falls in *that* zone's DST gap even when it is a fine time in the workshop's zone.
    """

    def to_python(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.make_naive(value, UTC)
        # UTC has no gaps or overlaps, so parsing in it never fails for a valid date and time.
        with timezone.override(UTC):
            parsed = super().to_python(value)
        return parsed.replace(tzinfo=None) if parsed is not None else None


class WorkshopPageForm(PaidPublishGateForm, MajorUnitPriceFormMixin, CreatorContentForm):
    """Reads and shows the start time in the workshop's own zone, not the editor's.

    A creator in Lisbon scheduling a workshop "at 18:00 America/New_York" means 18:00 in New
    York. The start time field holds the wall-clock time; ``clean`` attaches the zone chosen
    on the page. A time that does not exist there (clocks go forward) is refused; a time that
    exists twice (clocks go back) means its first occurrence. The price is typed in major
    units and checked against Stripe's minimum (``MajorUnitPriceFormMixin``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "starts_at" in self.fields:
            original = self.fields["starts_at"]
            self.fields["starts_at"] = WallClockDateTimeField(
                required=original.required,
                widget=original.widget,
                label=original.label,
                help_text=original.help_text,
            )
        if "time_zone" in self.fields:
            self.fields["time_zone"].widget = forms.Select(
                choices=[(name, name) for name in timezone_names()]
            )
        instance = self.instance
        if instance.starts_at and not self.is_bound:
            local = instance.starts_at.astimezone(instance.zone)
            self.initial["starts_at"] = local.replace(tzinfo=None)

    def clean(self):
        cleaned_data = super().clean()
        wall_clock = cleaned_data.get("starts_at")
        zone_name = cleaned_data.get("time_zone")
        if wall_clock is None:
            return cleaned_data
        if not zone_name or not is_valid_timezone(zone_name):
            # The model's validator names the bad zone; without one the time means nothing.
            del cleaned_data["starts_at"]
            if "time_zone" not in self.errors:
                self.add_error("time_zone", _("Choose the time zone of the start time."))
            return cleaned_data
        zone = zoneinfo.ZoneInfo(zone_name)
        starts_at = wall_clock.replace(tzinfo=zone, fold=0)
        if starts_at.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_clock:
            del cleaned_data["starts_at"]
            self.add_error(
                "starts_at",
                _(
                    "%(time)s does not exist in %(zone)s: the clocks go forward then. "
                    "Pick another time."
                )
                % {"time": wall_clock.strftime("%Y-%m-%d %H:%M"), "zone": zone_name},
            )
            return cleaned_data
        cleaned_data["starts_at"] = starts_at
        return cleaned_data
