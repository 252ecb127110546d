"""The learner's actions on courses; the pages themselves are served by Wagtail."""

from django.urls import path

from . import pause_views, views

app_name = "courses"

urlpatterns = [
    path("<int:course_id>/enroll/", views.enroll, name="enroll"),
    path("lessons/<int:lesson_id>/complete/", views.complete_lesson, name="complete_lesson"),
    path("enrollments/<int:enrollment_id>/pause/", views.pause_enrollment, name="pause"),
    path("enrollments/<int:enrollment_id>/resume/", views.resume_enrollment, name="resume"),
    # The lesson e-mails' one-click pause link (signed token, no sign-in; RFC 8058).
    path("pause/<str:token>/", pause_views.pause_lessons, name="pause_link"),
]
