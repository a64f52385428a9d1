from django.urls import path

from . import approval_views, views

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
    path("approvals/", approval_views.approval_queue, name="approvals"),
    path(
        "approvals/thresholds/",
        approval_views.approval_thresholds,
        name="approval_thresholds",
    ),
    path(
        "approvals/<str:refund_id>/approve/",
        approval_views.approval_approve,
        name="approval_approve",
    ),
    path(
        "approvals/<str:refund_id>/reject/",
        approval_views.approval_reject,
        name="approval_reject",
    ),
]
