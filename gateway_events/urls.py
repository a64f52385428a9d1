from django.urls import path

from . import views

app_name = "gateway_events"

urlpatterns = [
    path("webhooks/stripe", views.stripe_webhook, name="stripe"),
]
