from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OpsConfig(AppConfig):
    """Running the site: health probes, request ids in logs, the staff's system status page."""

    name = "ops"
    verbose_name = gettext_lazy("Operations")
