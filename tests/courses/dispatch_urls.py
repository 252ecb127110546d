"""The site's URLs plus the lesson e-mails' pause link, for the courses tests.

``config/urls.py`` is to include ``courses.pause_urls`` at ``courses/``; until it does, tests
(and the worker subprocess of the real-worker tests) use this module as ROOT_URLCONF.
"""

from django.urls import include, path

from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("courses/", include("courses.pause_urls")), *site_urlpatterns]
