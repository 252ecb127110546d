from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Connects the receivers of workshops' signals (refunds of cancelled paid seats).
        from . import receivers  # noqa: F401
