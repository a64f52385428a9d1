from django.urls import include, path

from . import views

app_name = "bulk"

# The pages and actions of one batch, below refunds/bulk/<batch_id>/.
batch_urls = [
    path("", views.batch_detail, name="detail"),
    path("progress/", views.batch_progress, name="progress"),
    path("confirm/", views.batch_confirm, name="confirm"),
    path("cancel/", views.batch_cancel, name="cancel"),
    path("results.csv", views.batch_results, name="results"),
]

urlpatterns = [
    path("refunds/bulk/", views.batch_list, name="list"),
    path("refunds/bulk/<str:batch_id>/", include(batch_urls)),
]
