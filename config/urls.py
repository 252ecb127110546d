from pathlib import Path

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from accounts import views as account_views
from courses import views as course_views
from home import views as home_views

# One way in (issue #10): Django's admin stays (staff use it for Celery beat schedules and
# raw user records), but its sign-in is allauth's; Wagtail's login URL goes there too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/login/", account_views.admin_login, name="admin_login_redirect"),
    path("admin/", include(wagtailadmin_urls)),
    # Wagtail's document view, wrapped so that every answer carries Cache-Control: private,
    # no-store; who gets a file is decided by its before_serve_document hook (courses).
    re_path(r"^documents/(\d+)/(.*)$", course_views.serve_document, name="wagtaildocs_serve"),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("payments/", include("payments.urls")),
    # A creator's short follower-code link (payments/discounts.py).
    path("", include("payments.short_urls")),
    path("reviews/", include("home.reviews.urls")),
    # Only the actions; /courses/ and /workshops/ themselves are Wagtail pages.
    path("courses/", include("courses.urls")),
    path("workshops/", include("workshops.urls")),
    path("dashboard/", home_views.dashboard, name="dashboard"),
    path("studio/", include("home.studio.urls")),
    path("search/", home_views.search, name="search"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("robots.txt", home_views.robots_txt, name="robots_txt"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", home_views.favicon, name="favicon"),
]

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    # Only images are public files. Documents (lesson downloads) are never served from
    # /media/: only /documents/<id>/<name>, through the access check.
    for public_folder in ("images", "original_images"):
        urlpatterns += static(
            f"{settings.MEDIA_URL}{public_folder}/",
            document_root=Path(settings.MEDIA_ROOT) / public_folder,
        )

# Wagtail serves every other path from the page tree; it must come last.
urlpatterns += [path("", include(wagtail_urls))]
