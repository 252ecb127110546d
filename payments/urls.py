from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("courses/<int:course_id>/buy/", views.buy_course, name="buy_course"),
    path("workshops/<int:workshop_id>/buy/", views.buy_workshop, name="buy_workshop"),
    path("orders/<uuid:order_id>/success/", views.checkout_success, name="checkout_success"),
    path("orders/<uuid:order_id>/cancel/", views.checkout_cancel, name="checkout_cancel"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
