from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from wagtail.models import Page

SEARCH_RESULTS_PER_PAGE = 10


def search(request):
    query = request.GET.get("query", "").strip()
    results = (
        Page.objects.live().public().specific().search(query) if query else Page.objects.none()
    )
    page = Paginator(results, SEARCH_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request, "home/search.html", {"search_query": query, "search_results": page}
    )


@login_required
def dashboard(request):
    """ "My learning": the signed-in learner's courses and workshops."""
    return TemplateResponse(request, "home/dashboard.html", {})
