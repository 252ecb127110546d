"""Short links at the site's root: a creator's follower code, ``/c/NAME/``
(payments/discounts.py). Included by config.urls without a prefix."""

from django.urls import path

from . import views

urlpatterns = [path("c/<str:name>/", views.follow_code, name="follow_code")]
