"""The JSON API (django-ninja) under /api/v1/, with its OpenAPI document at
/api/v1/openapi.json and interactive docs at /api/v1/docs (Swagger UI served from
django-ninja's own static files, no CDN).

What holds for every operation, including those of routers added later, is applied
here once rather than in each router:

- authentication with a bearer API key (auth.py): 401 without one;
- idempotency of every POST (idempotency.py);
- the JSON error shape for every failure (errors.py, parser.py, middleware.py);
- camelCase field names in and out (`by_alias`);
- the OpenAPI document declares the bearer scheme, the `Idempotency-Key` header of
  every POST, and the error answers every operation can give.
"""

from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger

from chargebacks.api import disputes_router
from chargebacks.api import router as chargebacks_router
from core.api import ErrorOut
from customers.api import router as customers_router
from payments.api import router as payments_router
from payments.ratio_api import router as dispute_ratio_router
from subscriptions.api import router as subscriptions_router
from webhooks.api import router as webhooks_router

from .auth import api_key_auth
from .errors import install_exception_handlers, not_found_response
from .idempotency import KEY_HEADERS, MAX_KEY_LENGTH, idempotent_posts
from .middleware import json_errors
from .parser import JsonOnlyParser, reject_nul_in_path

DESCRIPTION = """
Authenticate with a secret key: `Authorization: Bearer sk_test_…`.

Amounts are integers in the currency's minor units. Every POST accepts an
`Idempotency-Key` header (at most 255 characters): a retry with the same key, path and
body within 24 hours answers the first answer again, with `Idempotent-Replayed: true`.

Errors always answer `{"error": {"type", "message", "param"?}}`.
"""

# Error answers any operation can give, declared on each in the OpenAPI document.
COMMON_ERRORS = {
    "400": "Invalid request or validation error",
    "401": "Missing, unknown or revoked API key",
    "500": "Unexpected error",
}
POST_ERRORS = {
    "409": "A request with this idempotency key is still in progress",
    "422": "The idempotency key was used for another request",
}

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": KEY_HEADERS[0],
    "required": False,
    "description": "Makes the request safe to retry: the first answer is stored for 24 hours "
    f"and answered again to a retry with the same key ({KEY_HEADERS[1]} works too).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


class BackOfficeAPI(NinjaAPI):
    """A NinjaAPI with the conventions above built in: every router added to it gets
    them without doing anything."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("auth", api_key_auth)
        kwargs.setdefault("parser", JsonOnlyParser())
        super().__init__(**kwargs)
        install_exception_handlers(self)
        # The last added wraps the others: paths no record could name are refused first.
        self.add_decorator(idempotent_posts, mode="view")
        self.add_decorator(reject_nul_in_path, mode="view")

    def add_unknown_route_handler(self) -> None:
        """Answer JSON 404 for any URL under the API that no operation matches. Call it
        after the last add_router, so it only sees what no router answers."""
        unknown_routes = Router()

        @unknown_routes.api_operation(
            ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            "/{path:unknown_path}",
            auth=None,
            include_in_schema=False,
        )
        def unknown_route(request, unknown_path: str):
            return not_found_response(request)

        self.add_router("", unknown_routes)

    def get_openapi_operation_id(self, operation) -> str:
        """The view's name in camelCase: create_payment -> createPayment."""
        first, *rest = operation.view_func.__name__.split("_")
        return first + "".join(word.title() for word in rest)

    def _get_bound_routers(self):
        bound_routers = super()._get_bound_routers()
        for bound_router in bound_routers:
            for path_view in bound_router.path_operations.values():
                for operation in path_view.operations:
                    operation.by_alias = True
        return bound_routers

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = json_errors(
                pattern.callback,
                safe_methods_only=pattern.name in ("openapi-json", "openapi-view", "api-root"),
            )
        return patterns, app_name, namespace

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components.setdefault("ErrorOut", error_schema)
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for methods in schema["paths"].values():
            for method, operation in methods.items():
                declared = COMMON_ERRORS | (POST_ERRORS if method == "post" else {})
                responses = {str(status): r for status, r in operation["responses"].items()}
                operation["responses"] = responses
                for status, description in declared.items():
                    responses.setdefault(status, {"description": description, "content": error_ref})
                if method == "post":
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        return schema


api = BackOfficeAPI(
    title="Back office API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=Swagger(settings={"persistAuthorization": True}),
)
api.add_router("/payments", payments_router)
api.add_router("/", chargebacks_router)
api.add_router("/", disputes_router)
api.add_router("/", customers_router)
api.add_router("/", subscriptions_router)
api.add_router("/", webhooks_router)
api.add_router("/", dispute_ratio_router)
api.add_unknown_route_handler()
