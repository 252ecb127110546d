"""Site-wide response middleware."""

from django.template.loader import render_to_string


class FriendlyMethodNotAllowedMiddleware:
    """A page in the site's look for a 405 (a GET on a POST-only URL, say: a form link opened
    in a new tab), instead of the browser's empty error page.

    Only for empty 405 responses to requests that accept HTML: an API's own 405 body stays.
    The ``Allow`` header and the status are kept.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.content
            and "text/html" in request.headers.get("Accept", "text/html")
        ):
            response.content = render_to_string("405.html", request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response
