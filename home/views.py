from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.views.decorators.cache import cache_control
from wagtail.models import Page

from courses import selectors as course_selectors
from workshops import selectors as workshop_selectors

SEARCH_RESULTS_PER_PAGE = 10
DASHBOARD_COURSES_PER_PAGE = 20


def search(request):
    query = request.GET.get("query", "").strip()
    results = (
        Page.objects.live().public().specific().search(query) if query else Page.objects.none()
    )
    page = Paginator(results, SEARCH_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request, "home/search.html", {"search_query": query, "search_results": page}
    )


# It shows workshop join links and the learner's courses: for this reader, never stored.
@cache_control(private=True, no_store=True)
@login_required
def dashboard(request):
    """ "My learning": the signed-in learner's courses and workshops.

    A fixed number of queries however many courses and workshops: one page of enrolments,
    their progress in two more (``courses.selectors.progress_for``), and the workshops in
    three (``workshops.selectors.learner_workshops``).
    """
    enrollments = Paginator(
        course_selectors.learner_enrollments(learner=request.user), DASHBOARD_COURSES_PER_PAGE
    ).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "home/dashboard.html",
        {
            "courses": course_selectors.progress_for(enrollments.object_list),
            "courses_page": enrollments,
            "learner_workshops": workshop_selectors.learner_workshops(learner=request.user),
        },
    )
