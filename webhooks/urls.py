from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="list"),
    path("webhooks/new/", views.endpoint_create, name="create"),
    path("webhooks/<str:endpoint_id>/", views.endpoint_detail, name="detail"),
    path("webhooks/<str:endpoint_id>/edit/", views.endpoint_edit, name="edit"),
    path("webhooks/<str:endpoint_id>/disable/", views.endpoint_disable, name="disable"),
    path("webhooks/<str:endpoint_id>/enable/", views.endpoint_enable, name="enable"),
    path("webhooks/<str:endpoint_id>/delete/", views.endpoint_delete, name="delete"),
    path("webhooks/<str:endpoint_id>/rotate/", views.endpoint_rotate, name="rotate"),
    path("webhooks/<str:endpoint_id>/test/", views.endpoint_test, name="test"),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/resend/",
        views.delivery_resend,
        name="resend",
    ),
]
