"""Security headers: django-csp's middleware with a stricter policy for the site than for the
Wagtail admin, and a Permissions-Policy header.

The site's pages run no inline script or style (``static/js/site.js``, ``static/css/``), so
their policy allows scripts and styles from this origin only. The Wagtail admin (and Django's)
uses inline scripts and styles of its own: it gets a relaxed policy that still confines
everything to this origin (ADMIN_CONTENT_SECURITY_POLICY in settings).
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

# Browser features no page of ours uses; Permissions-Policy turns them off for us and for any
# frame (video embeds included).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "interest-cohort",
    )
)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """CONTENT_SECURITY_POLICY for the site; ADMIN_CONTENT_SECURITY_POLICY under the admin."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        is_admin = request.path_info.startswith(settings.ADMIN_URL_PREFIXES)
        if is_admin and not report_only and parts.config is None:
            parts.config = settings.ADMIN_CONTENT_SECURITY_POLICY["DIRECTIVES"]
        return parts


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
