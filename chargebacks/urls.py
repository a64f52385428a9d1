from django.urls import path

from . import views

app_name = "chargebacks"

urlpatterns = [
    path(
        "payments/<str:payment_id>/chargeback/",
        views.record_chargeback,
        name="record",
    ),
]
