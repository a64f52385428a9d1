from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/<str:customer_id>/", views.customer_detail, name="detail"),
    path(
        "customers/<str:customer_id>/restrictions/",
        views.customer_restrictions,
        name="restrictions",
    ),
    path("blacklist/", views.blacklist, name="blacklist"),
    path("blacklist/add/", views.blacklist_add, name="blacklist_add"),
    path("blacklist/<int:entry_id>/remove/", views.blacklist_remove, name="blacklist_remove"),
]
