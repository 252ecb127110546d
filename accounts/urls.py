from django.urls import path

from . import views

urlpatterns = [
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("confirm-email/resend/", views.resend_confirmation, name="resend_confirmation"),
    path("email/confirm-works/", views.confirm_email_works, name="confirm_email_works"),
]
