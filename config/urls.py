from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls
from wagtail.documents.views import serve as wagtail_document_serve

from home import views as home_views

# Wagtail's document view, with the answer kept out of shared caches: it is a lesson's download
# (or, on S3, a redirect to a presigned URL that anyone holding it could use until it expires).
serve_document_privately = cache_control(private=True, no_store=True)(wagtail_document_serve.serve)

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    # Wagtail's document serving (its access hooks included), marked private and never stored.
    re_path(r"^documents/(\d+)/(.*)$", serve_document_privately),
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
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", home_views.favicon, name="favicon"),
]

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves every other path from the page tree; it must come last.
urlpatterns += [path("", include(wagtail_urls))]
