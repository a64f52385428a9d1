from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic.base import RedirectView

from . import health
from .api import api

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Pages that link no icon of their own (the admin, the API docs): browsers ask here.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg")), name="favicon"),
    path("api/v1/", api.urls),
    path("", include("gateway_events.urls")),
    path("", include("merchants.urls")),
    path("", include("payments.urls")),
    path("", include("customers.urls")),
    path("", include("chargebacks.urls")),
    path("", include("bulk.urls")),
    path("", include("audit.urls")),
    path("", include("webhooks.urls")),
]

handler404 = "config.api.middleware.page_not_found"
handler500 = "config.api.middleware.server_error"
