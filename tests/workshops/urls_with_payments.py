"""The project's URLs plus the one payments URL the workshop page looks for, as the payments
branch will add it: ``payments:buy_workshop``. Its view is a stand-in for that app."""

from django.http import HttpResponse
from django.urls import include, path

from config import urls as project_urls


def buy_workshop(request, workshop_id: int) -> HttpResponse:
    return HttpResponse(f"checkout for workshop {workshop_id}")


payments_patterns = (
    [path("workshops/<int:workshop_id>/buy/", buy_workshop, name="buy_workshop")],
    "payments",
)

urlpatterns = [path("payments/", include(payments_patterns)), *project_urls.urlpatterns]
