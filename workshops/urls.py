from django.urls import path

from . import views

app_name = "workshops"

urlpatterns = [
    path("<int:workshop_id>/register/", views.register, name="register"),
    path("<int:workshop_id>/cancel/", views.cancel, name="cancel"),
    path("<int:workshop_id>/cancel/confirm/", views.cancel_confirm, name="cancel_confirm"),
    path("<int:workshop_id>/waitlist/join/", views.join_waitlist, name="join_waitlist"),
    path("<int:workshop_id>/waitlist/leave/", views.leave_waitlist, name="leave_waitlist"),
    path("<int:workshop_id>/invite.ics", views.invite, name="invite"),
    path("<int:workshop_id>/join/", views.join, name="join"),
    path("claim/<str:token>/", views.claim_offer, name="claim_offer"),
]
