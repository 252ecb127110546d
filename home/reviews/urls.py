from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("pages/<int:page_id>/", views.write, name="write"),
    path("<int:review_id>/reply/", views.reply, name="reply"),
    path("<int:review_id>/hide/", views.hide, name="hide"),
    path("<int:review_id>/remove/", views.remove, name="remove"),
]
