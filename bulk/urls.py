from django.urls import path

from . import views

app_name = "bulk"

urlpatterns = [
    path("refunds/bulk/", views.batch_list, name="list"),
    path("refunds/bulk/<str:batch_id>/", views.batch_detail, name="detail"),
    path("refunds/bulk/<str:batch_id>/progress/", views.batch_progress, name="progress"),
    path("refunds/bulk/<str:batch_id>/confirm/", views.batch_confirm, name="confirm"),
    path("refunds/bulk/<str:batch_id>/cancel/", views.batch_cancel, name="cancel"),
    path("refunds/bulk/<str:batch_id>/results.csv", views.batch_results, name="results"),
]
