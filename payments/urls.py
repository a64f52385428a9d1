from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("payments/", views.payment_list, name="list"),
    path("payments/export.csv", views.payment_export, name="export"),
    path("payments/<str:payment_id>/", views.payment_detail, name="detail"),
    path("payments/<str:payment_id>/refund/", views.payment_reverse, name="reverse"),
    path(
        "payments/<str:payment_id>/refund/summary/",
        views.payment_reverse_summary,
        name="reverse_summary",
    ),
    path("payments/<str:payment_id>/capture/", views.payment_capture, name="capture"),
    path("overview/", views.overview, name="overview"),
]
