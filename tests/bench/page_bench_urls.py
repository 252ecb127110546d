"""The site's URLs and a trivial view, for the page benchmark's server (page_bench_site.py)."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse("ok")


urlpatterns = [path("bench/trivial/", trivial), path("", include("config.urls"))]
