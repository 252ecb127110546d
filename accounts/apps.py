from django.apps import AppConfig
from wagtail.users.apps import WagtailUsersAppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from . import signals  # noqa: F401 - connects the schedule-change receivers


class WagtailUsersConfig(WagtailUsersAppConfig):
    """``wagtail.users`` editing our users' lesson schedule too (accounts/wagtail_users.py)."""

    user_viewset = "accounts.wagtail_users.UserViewSet"
