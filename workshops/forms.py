import zoneinfo

from django.utils import timezone
from wagtail.admin.forms import WagtailAdminPageForm


class WorkshopPageForm(WagtailAdminPageForm):
    """Reads and shows the start time in the workshop's own zone, not the editor's.

    A creator in Lisbon scheduling a workshop "at 18:00 America/New_York" means 18:00 in New
    York. Django's form field would read the wall-clock time in the editor's active zone, so
    the form re-reads it in the zone chosen on the page.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.starts_at and instance.time_zone and not self.is_bound:
            local = instance.starts_at.astimezone(zoneinfo.ZoneInfo(instance.time_zone))
            self.initial["starts_at"] = local.replace(tzinfo=None)

    def clean(self):
        cleaned_data = super().clean()
        starts_at = cleaned_data.get("starts_at")
        zone_name = cleaned_data.get("time_zone")
        if starts_at and zone_name and "time_zone" not in self.errors:
            wall_clock = timezone.localtime(starts_at).replace(tzinfo=None)
            cleaned_data["starts_at"] = wall_clock.replace(tzinfo=zoneinfo.ZoneInfo(zone_name))
        return cleaned_data
