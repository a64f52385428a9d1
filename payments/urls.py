from django.urls import include, path

from . import approval_views, views
from .approval_views import approval_decision

app_name = "payments"

# One payment's pages and dialogs, below payments/<payment_id>/.
payment_urls = [
    path("", views.payment_detail, name="detail"),
    path("refund/", views.payment_reverse, name="reverse"),
    path("refund/summary/", views.payment_reverse_summary, name="reverse_summary"),
    path("capture/", views.payment_capture, name="capture"),
]

# The decisions on one refund held for approval, below approvals/<refund_id>/.
approval_urls = [
    path("approve/", approval_decision, {"decision": "approve"}, name="approval_approve"),
    path("reject/", approval_decision, {"decision": "reject"}, name="approval_reject"),
]

urlpatterns = [
    path("payments/", views.payment_list, name="list"),
    path("payments/export.csv", views.payment_export, name="export"),
    path("payments/<str:payment_id>/", include(payment_urls)),
    path("overview/", views.overview, name="overview"),
    path("approvals/", approval_views.approval_queue, name="approvals"),
    path("approvals/thresholds/", approval_views.approval_thresholds, name="approval_thresholds"),
    path("approvals/<str:refund_id>/", include(approval_urls)),
]
