from django.urls import include, path

from . import views

app_name = "customers"

# One customer's page and its restrictions form, below customers/<customer_id>/.
customer_urls = [
    path("", views.customer_detail, name="detail"),
    path("restrictions/", views.customer_restrictions, name="restrictions"),
]

blacklist_urls = [
    path("", views.blacklist, name="blacklist"),
    path("add/", views.blacklist_add, name="blacklist_add"),
    path("<int:entry_id>/remove/", views.blacklist_remove, name="blacklist_remove"),
]

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/<str:customer_id>/", include(customer_urls)),
    path("blacklist/", include(blacklist_urls)),
]
