from django.urls import path

from . import views

app_name = "chargebacks"

urlpatterns = [
    path(
        "payments/<str:payment_id>/chargeback/",
        views.record_chargeback,
        name="record",
    ),
    path("disputes/", views.dispute_list, name="disputes"),
    path("disputes/<str:dispute_id>/", views.dispute_detail, name="dispute"),
    path("disputes/<str:dispute_id>/evidence/", views.dispute_evidence, name="evidence"),
    path("disputes/<str:dispute_id>/files/", views.dispute_file_upload, name="files"),
    path(
        "disputes/<str:dispute_id>/files/<str:file_id>/",
        views.dispute_file_download,
        name="file",
    ),
    path("disputes/<str:dispute_id>/submit/", views.dispute_submit, name="submit"),
    path("disputes/<str:dispute_id>/accept/", views.dispute_accept, name="accept"),
    path("disputes/<str:dispute_id>/close/", views.dispute_close, name="close"),
]
