"""The JSON API (django-ninja) under /api/v1/."""

from ninja import NinjaAPI

from chargebacks.api import router as chargebacks_router
from customers.api import router as customers_router
from payments.api import router as payments_router

api = NinjaAPI(title="Back office API", version="1", urls_namespace="api")
api.add_router("/payments", payments_router)
api.add_router("/", chargebacks_router)
api.add_router("/", customers_router)
