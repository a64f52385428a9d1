from django.urls import include, path

from . import views

app_name = "webhooks"

# What is done to one endpoint, below webhooks/<endpoint_id>/.
endpoint_urls = [
    path("", views.endpoint_detail, name="detail"),
    path("edit/", views.endpoint_edit, name="edit"),
    path("disable/", views.endpoint_set_enabled, {"enabled": False}, name="disable"),
    path("enable/", views.endpoint_set_enabled, {"enabled": True}, name="enable"),
    path("delete/", views.endpoint_delete, name="delete"),
    path("rotate/", views.endpoint_rotate, name="rotate"),
    path("test/", views.endpoint_test, name="test"),
    path("deliveries/<str:delivery_id>/resend/", views.delivery_resend, name="resend"),
]

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="list"),
    path("webhooks/new/", views.endpoint_create, name="create"),
    path("webhooks/<str:endpoint_id>/", include(endpoint_urls)),
]
