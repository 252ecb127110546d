"""The lesson e-mails' one-click pause link; included from ``config/urls.py`` at ``courses/``."""

from django.urls import path

from . import pause_views

urlpatterns = [
    path("pause/<str:token>/", pause_views.pause_lessons, name="course_pause"),
]
