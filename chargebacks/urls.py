from django.urls import include, path

from . import views

app_name = "chargebacks"

# One dispute's pages, below disputes/<dispute_id>/.
dispute_urls = [
    path("", views.dispute_detail, name="dispute"),
    path("evidence/", views.dispute_evidence, name="evidence"),
    path("files/", views.dispute_file_upload, name="files"),
    path("files/<str:file_id>/", views.dispute_file_download, name="file"),
    *[
        path(f"{step}/", views.dispute_step, {"step": step}, name=step)
        for step in views.DISPUTE_STEPS
    ],
]

urlpatterns = [
    path("payments/<str:payment_id>/chargeback/", views.record_chargeback, name="record"),
    path("disputes/", views.dispute_list, name="disputes"),
    path("disputes/<str:dispute_id>/", include(dispute_urls)),
]
