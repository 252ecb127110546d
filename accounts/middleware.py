import zoneinfo

from django.utils import timezone

from .timezones import is_valid_timezone

# Set by static/js/site.js from the browser, so anonymous visitors see times in their own zone.
BROWSER_TIMEZONE_COOKIE = "tz"


class LearnerTimezoneMiddleware:
    """Render every page in the reader's zone: their saved zone, else their browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(user.zone)
        else:
            guess = request.COOKIES.get(BROWSER_TIMEZONE_COOKIE, "")
            if is_valid_timezone(guess):
                timezone.activate(zoneinfo.ZoneInfo(guess))
            else:
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
