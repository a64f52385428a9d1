"""Tenant isolation and role matrix, generated from the URL configuration.

Every URL pattern of the dashboard and of the JSON API (walked from
django.urls.get_resolver(), /admin/ and static files aside) is requested with GET and
POST (API operations: with their own method) by:

- nobody: the dashboard redirects to the login page, the API answers 401;
- each role on its own merchant's objects (support agent, merchant admin, platform
  admin), or the merchant's API key: the status the EXPECTED table says;
- the API with a session cookie and no key, or with a revoked key: 401;
- another merchant's merchant admin / API key: an object URL answers exactly as for a
  missing id (404), a list shows none of the first merchant's data.

Every refused request (anonymous, role-forbidden, foreign) must also change nothing:
every row of every table is compared before and after (audit trail, idempotency
records and sessions aside). The POST bodies are the ones that would act (a full
refund, a chargeback with blacklist...), and for the allowed role the test checks that
they do act, so "nothing changed" is not vacuous.

A new URL is covered automatically, and must be classified: the test fails for a URL
name missing from EXPECTED, and for a path parameter it does not know how to fill.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from bulk import services as bulk_services
from chargebacks import services as dispute_services
from chargebacks.models import Dispute
from core.actors import SYSTEM, Actor
from customers.models import BlacklistEntry
from merchants import roles
from merchants.services import revoke_api_key
from payments import approvals
from payments import services as payment_services
from subscriptions.models import Subscription
from tests.factories import (
    CustomerFactory,
    MerchantFactory,
    PaymentFactory,
    UserFactory,
    make_api_key,
)
from webhooks.models import EVENT_TYPES, Delivery, Event
from webhooks.services import create_endpoint

from .helpers import differences, snapshot

API_PREFIX = "api/"
SKIPPED_PREFIXES = ("admin/", settings.STATIC_URL.lstrip("/"))
ROLES = ("agent", "merchant_admin", "platform_admin")

# --- how to fill path parameters ---------------------------------------------------------------

# Parameters naming an object of a merchant (tenant-scoped): a foreign one must answer
# exactly like a missing one.
TENANT_PARAMS = {
    "payment_id",
    "customer_id",
    "subscription_id",
    "key_id",
    "transaction_id",
    "dispute_id",
    "file_id",
    "endpoint_id",
    "delivery_id",
    "event_id",
    "batch_id",
    "refund_id",
}
# Parameters naming platform-wide objects or nothing at all.
OTHER_PARAMS = {"entry_id", "unknown_path"}
KNOWN_PARAMS = TENANT_PARAMS | OTHER_PARAMS

MISSING = {
    "payment_id": "pay_missing0000000000000000",
    "customer_id": "cus_missing0000000000000000",
    "subscription_id": "sub_missing0000000000000000",
    "key_id": "key_missing0000000000000000",
    "transaction_id": "txn_missing0000000000000000",
    "dispute_id": "dp_missing00000000000000000",
    "file_id": "dpf_missing0000000000000000",
    "endpoint_id": "we_missing0000000000000000",
    "delivery_id": "whd_missing0000000000000000",
    "event_id": "evt_missing0000000000000000",
    "batch_id": "rfb_missing0000000000000000",
    "refund_id": "txn_missing0000000000000000",
    "entry_id": "987654321",
    "unknown_path": "no/such/thing",
}


# --- the expectation table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A dashboard URL: the status for (agent, merchant admin, platform admin), per
    method. `public`: answers without signing in, with these (GET, POST) statuses.
    `post`: a function of the World giving a form that acts; `acts`: the allowed
    role's POST must change something (proves the body is effective)."""

    get: tuple[int, int, int]
    post: tuple[int, int, int]
    public: tuple[int, int] | None = None
    data: Callable[[World], dict] | None = None
    acts: bool = False


@dataclass(frozen=True)
class Api:
    """An API operation: the status for the merchant's own key (and the method is the
    operation's own). `public`: no key needed. `data`: the JSON body of a POST that
    acts; `acts`: it must change something for the own key."""

    status: int
    public: bool = False
    # The status of a POST to a public GET-only URL (the documents, the API root).
    public_post: int | None = None
    data: Callable[[World], dict] | None = None
    acts: bool = False
    # A POST without an object in the path whose body names another merchant's object.
    foreign_data: Callable[[World], dict] | None = None
    # The body is multipart/form-data (a file upload), not JSON.
    multipart: bool = False


def _token() -> str:
    return str(uuid.uuid4())


EXPECTED: dict[str, Page | Api] = {
    # --- operations: probes and metrics (no session; /metrics by network or token,
    # and the test client comes from 127.0.0.1, an allowed network) ---
    "healthz": Page(get=(200, 200, 200), post=(405, 405, 405), public=(200, 405)),
    "readyz": Page(get=(200, 200, 200), post=(405, 405, 405), public=(200, 405)),
    "metrics": Page(get=(200, 200, 200), post=(405, 405, 405), public=(200, 405)),
    # --- the gateway's webhooks: Stripe signs them, so no session matters; unsigned: 400 ---
    "gateway_events:stripe": Page(get=(405, 405, 405), post=(400, 400, 400), public=(405, 400)),
    # --- dashboard: merchants ---
    "home": Page(get=(302, 302, 302), post=(302, 302, 302)),
    "login": Page(get=(302, 302, 302), post=(302, 302, 302), public=(200, 200)),
    "logout": Page(get=(405, 405, 405), post=(302, 302, 302), public=(405, 302)),
    "favicon": Page(get=(302, 302, 302), post=(302, 302, 302), public=(302, 302)),
    "api_keys": Page(get=(403, 200, 403), post=(403, 405, 403)),
    "api_key_create": Page(
        get=(403, 200, 403),
        post=(403, 200, 403),  # the secret, shown in the answer itself (never a redirect)
        data=lambda w: {"token": _token(), "name": "checkout", "mode": "test"},
        acts=True,
    ),
    "api_key_revoke": Page(
        get=(403, 200, 403),
        post=(403, 302, 403),
        data=lambda w: {"token": _token()},
        acts=True,
    ),
    # --- dashboard: payments ---
    "payments:list": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "payments:detail": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "payments:reverse": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),
        data=lambda w: {"token": _token(), "amount": "25.00", "reason": "requested_by_customer"},
        acts=True,
    ),
    "payments:reverse_summary": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "payments:capture": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),
        data=lambda w: {"token": _token(), "amount": "40.00"},
        acts=True,
    ),
    "payments:overview": Page(get=(200, 200, 403), post=(200, 200, 403)),
    # The list as CSV: who sees the list (the filters are read from the query string).
    "payments:export": Page(get=(200, 200, 403), post=(200, 200, 403)),
    # --- dashboard: refund approvals (SPEC 13: merchant admins, never the one who asked;
    # the held refund was asked by the support agent) ---
    "payments:approvals": Page(get=(403, 200, 403), post=(403, 200, 403)),
    "payments:approval_thresholds": Page(
        get=(403, 200, 403),
        post=(403, 302, 403),
        data=lambda w: {"currency": "USD", "amount": "75.00"},
        acts=True,
    ),
    "payments:approval_approve": Page(
        get=(403, 200, 403), post=(403, 302, 403), data=lambda w: {"token": _token()}, acts=True
    ),
    "payments:approval_reject": Page(
        get=(403, 200, 403),
        post=(403, 302, 403),
        data=lambda w: {"token": _token(), "note": "too large"},
        acts=True,
    ),
    # --- dashboard: bulk refunds (whoever may refund: payments.reverse_payment) ---
    "bulk:list": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),  # the upload: a draft batch (the dry run), then its page
        data=lambda w: {"file": _refund_csv(w.payment.id)},
        acts=True,
    ),
    "bulk:detail": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "bulk:progress": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "bulk:confirm": Page(
        get=(302, 302, 403),
        post=(302, 302, 403),
        data=lambda w: {"token": _token()},
        acts=True,
    ),
    "bulk:cancel": Page(
        get=(302, 302, 403), post=(302, 302, 403), data=lambda w: {"token": _token()}, acts=True
    ),
    "bulk:results": Page(get=(200, 200, 403), post=(200, 200, 403)),
    # --- dashboard: audit ---
    "audit:activity": Page(get=(403, 200, 403), post=(403, 405, 403)),
    # --- dashboard: chargebacks ---
    "chargebacks:record": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),
        data=lambda w: {
            "token": _token(),
            "blacklist_customer": "on",
            "blacklist_reason": "fraud ring",
            "confirm_blacklist": "on",
            "restrict_mit": "on",
            "restrict_reason": "chargeback",
        },
        acts=True,
    ),
    # --- dashboard: disputes (read: who sees payments; act: the chargeback roles) ---
    "chargebacks:disputes": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "chargebacks:dispute": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "chargebacks:evidence": Page(
        get=(302, 302, 403),
        post=(302, 302, 403),
        data=lambda w: {"product_description": "Delivered and signed for"},
        acts=True,
    ),
    "chargebacks:files": Page(
        get=(302, 302, 403),
        post=(302, 302, 403),
        data=lambda w: {"file": _pdf()},
        acts=True,
    ),
    "chargebacks:file": Page(get=(200, 200, 403), post=(405, 405, 403)),
    "chargebacks:submit": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),
        data=lambda w: {"token": _token(), "confirm": "on"},
        acts=True,
    ),
    "chargebacks:accept": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),
        data=lambda w: {"token": _token(), "confirm": "on"},
        acts=True,
    ),
    "chargebacks:close": Page(
        get=(200, 200, 403),
        post=(302, 302, 403),
        data=lambda w: {"token": _token(), "outcome": "won"},
        acts=True,
    ),
    # --- dashboard: customers ---
    "customers:list": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "customers:detail": Page(get=(200, 200, 403), post=(200, 200, 403)),
    "customers:restrictions": Page(
        get=(403, 302, 403),
        post=(403, 302, 403),
        data=lambda w: {"restrict_cit": "on", "restrict_mit": "on", "restrict_reason": "fraud"},
        acts=True,
    ),
    # --- dashboard: blacklist (platform admins) ---
    "customers:blacklist": Page(get=(403, 403, 200), post=(403, 403, 200)),
    "customers:blacklist_add": Page(
        get=(403, 403, 302),
        post=(403, 403, 302),
        data=lambda w: {"email": "fraudster@example.test", "reason": "fraud ring"},
        acts=True,
    ),
    "customers:blacklist_remove": Page(
        get=(403, 403, 200),
        post=(403, 403, 302),
        data=lambda w: {"reason": "cleared by the bank"},
        acts=True,
    ),
    # --- dashboard: webhooks (merchant admins) ---
    "webhooks:list": Page(get=(403, 200, 403), post=(403, 405, 403)),
    "webhooks:detail": Page(get=(403, 200, 403), post=(403, 200, 403)),
    "webhooks:create": Page(
        get=(403, 200, 403),
        post=(403, 200, 403),  # the secret, shown in the answer itself (never a redirect)
        data=lambda w: {
            "token": _token(),
            "url": "http://127.0.0.1:9/new",
            "event_types": ["payment.created"],
        },
        acts=True,
    ),
    "webhooks:edit": Page(
        get=(403, 200, 403),
        post=(403, 302, 403),
        data=lambda w: {
            "token": _token(),
            "url": "http://127.0.0.1:9/edited",
            "event_types": ["refund.created"],
        },
        acts=True,
    ),
    "webhooks:disable": Page(
        get=(403, 200, 403), post=(403, 302, 403), data=lambda w: {"token": _token()}, acts=True
    ),
    "webhooks:enable": Page(
        get=(403, 200, 403), post=(403, 302, 403), data=lambda w: {"token": _token()}
    ),
    "webhooks:delete": Page(
        get=(403, 200, 403), post=(403, 302, 403), data=lambda w: {"token": _token()}, acts=True
    ),
    "webhooks:rotate": Page(
        get=(403, 200, 403), post=(403, 200, 403), data=lambda w: {"token": _token()}, acts=True
    ),
    "webhooks:test": Page(
        get=(403, 200, 403), post=(403, 302, 403), data=lambda w: {"token": _token()}, acts=True
    ),
    # The resend is queued after commit (nothing changes in the request itself).
    "webhooks:resend": Page(
        get=(403, 200, 403), post=(403, 302, 403), data=lambda w: {"token": _token()}
    ),
    # --- API: documents and fallbacks ---
    "api:openapi-json": Api(200, public=True, public_post=405),
    "api:openapi-view": Api(200, public=True, public_post=405),
    "api:api-root": Api(404, public=True, public_post=405),
    "api:unknown_route": Api(404, public=True),
    # --- API: payments ---
    "api:create_payment": Api(
        200,
        data=lambda w: {"amount": 1200, "currency": "USD", "customerId": w.customer.id},
        acts=True,
        foreign_data=lambda w: {"amount": 1200, "currency": "USD", "customerId": w.customer.id},
    ),
    "api:list_payments": Api(200),
    "api:get_dispute_ratio": Api(200),
    "api:get_payment": Api(200),
    "api:capture_payment": Api(200, data=lambda w: {}, acts=True),
    "api:reverse_payment": Api(200, data=lambda w: {"reason": "duplicate"}, acts=True),
    "api:record_chargeback": Api(
        200,
        data=lambda w: {
            "blacklistCustomer": True,
            "customerRestrictions": {"restrictMit": True, "restrictReason": "chargeback"},
        },
        acts=True,
    ),
    # --- API: disputes ---
    "api:list_disputes": Api(200),
    "api:get_dispute": Api(200),
    "api:stage_dispute_evidence": Api(
        200, data=lambda w: {"productDescription": "Delivered", "submit": True}, acts=True
    ),
    "api:add_dispute_file": Api(200, data=lambda w: {"file": _pdf()}, acts=True, multipart=True),
    "api:download_dispute_file": Api(200),
    "api:accept_dispute": Api(200, data=lambda w: {}, acts=True),
    "api:close_dispute": Api(200, data=lambda w: {"outcome": "won"}, acts=True),
    # --- API: customers and subscriptions ---
    "api:create_customer": Api(200, data=lambda w: {"email": "new@example.test"}, acts=True),
    "api:list_customers": Api(200),
    "api:get_customer": Api(200),
    "api:update_customer_restrictions": Api(200, data=lambda w: {"restrictCit": True}, acts=True),
    "api:create_subscription": Api(
        200,
        data=lambda w: {
            "customerId": w.customer.id,
            "amount": 900,
            "currency": "USD",
            "interval": "month",
        },
        acts=True,
        foreign_data=lambda w: {
            "customerId": w.customer.id,
            "amount": 900,
            "currency": "USD",
            "interval": "month",
        },
    ),
    "api:list_subscriptions": Api(200),
    "api:get_subscription": Api(200),
    # --- API: webhook events ---
    "api:list_events": Api(200),
    "api:get_event": Api(200),
}

# For these operations the own-merchant object is the not-yet-captured payment.
USE_AUTHORIZED_PAYMENT = {"api:capture_payment", "payments:capture"}
# ...and for these the dispute whose evidence was submitted (an outcome needs it).
USE_REVIEWED_DISPUTE = {"api:close_dispute", "chargebacks:close"}


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("receipt.pdf", b"%PDF-1.4\n%%EOF\n")


def _refund_csv(payment_id: str, amount: str = "10.00"):
    """A bulk refund file of one good row."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = f"payment_id,amount,reason,note\n{payment_id},{amount},requested_by_customer,\n"
    return SimpleUploadedFile("refunds.csv", content.encode(), content_type="text/csv")


# --- discovery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    params: tuple[tuple[str, str | None], ...]  # (name, converter)
    unfillable: tuple[str, ...] = ()

    @property
    def is_api(self) -> bool:
        return self.route.startswith(API_PREFIX)

    @property
    def param_names(self) -> set[str]:
        return {name for name, _ in self.params}

    @property
    def is_tenant_object(self) -> bool:
        return bool(self.param_names & TENANT_PARAMS)

    def url(self, values: dict[str, str]) -> str:
        def fill(match: re.Match) -> str:
            return str(values[match.group("name")])

        return "/" + _PARAM.sub(fill, self.route)


_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            continue
        assert isinstance(pattern, URLPattern)
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
        if isinstance(pattern.pattern, RoutePattern) and not _regex_prefix(route):
            params = tuple((m.group("name"), m.group("converter")) for m in _PARAM.finditer(route))
            unfillable = tuple(p for p, _ in params if p not in KNOWN_PARAMS)
        else:
            # A regular expression: only its named groups could be filled, and only if
            # known; the pattern is reported for a person to look at.
            regex = pattern.pattern.regex if isinstance(pattern.pattern, RegexPattern) else None
            groups = tuple(regex.groupindex) if regex is not None else ()
            params = tuple((g, None) for g in groups)
            unfillable = (f"regex route {route!r}",)
        yield Route(name=name, route=route, params=params, unfillable=unfillable)


def _regex_prefix(route: str) -> bool:
    return route.startswith("^") or "(?P<" in route


def discover_routes() -> list[Route]:
    routes: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        key = route.name or f"<unnamed {route.route}>"
        routes.setdefault(key, route)
    return list(routes.values())


def api_methods() -> dict[str, tuple[str, ...]]:
    """URL name -> the HTTP methods of that django-ninja operation."""
    from config.api import api

    methods: dict[str, tuple[str, ...]] = {}
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                name = getattr(operation, "url_name", "") or api.get_operation_url_name(
                    operation, router=bound.template
                )
                if bound.url_name_prefix:
                    name = f"{bound.url_name_prefix}_{name}"
                methods[f"{api.urls_namespace}:{name}"] = tuple(operation.methods)
    return methods


ROUTES = discover_routes()
API_METHODS = api_methods()


def cases() -> list[tuple[str, str]]:
    found = []
    for route in ROUTES:
        if route.name is None or route.name not in EXPECTED or route.unfillable:
            continue  # reported by test_every_url_is_classified
        if route.is_api and route.name in API_METHODS:
            methods = [m for m in API_METHODS[route.name] if m in ("GET", "POST")]
        else:
            methods = ["GET", "POST"]
        found += [(route.name, method) for method in methods]
    return sorted(found)


def test_every_url_is_classified():
    """A new URL must be added to EXPECTED, and its parameters must be known."""
    problems = []
    for route in ROUTES:
        if route.name is None:
            problems.append(f"unnamed URL pattern /{route.route}: give it a name")
            continue
        if route.unfillable:
            problems.append(f"{route.name} (/{route.route}): cannot fill {list(route.unfillable)}")
        if route.name not in EXPECTED:
            problems.append(f"{route.name} (/{route.route}): add it to EXPECTED")
    stale = set(EXPECTED) - {route.name for route in ROUTES}
    problems += [f"{name}: in EXPECTED but no such URL any more" for name in sorted(stale)]
    assert not problems, "URL patterns the isolation matrix cannot check:\n" + "\n".join(problems)


def test_the_matrix_covers_the_dashboard_and_the_api():
    names = {name for name, _ in cases()}
    assert any(name.startswith("api:") for name in names)
    assert any(not name.startswith("api:") for name in names)
    assert "payments:detail" in names and "api:reverse_payment" in names


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    merchant: object
    other: object
    users: dict
    foreign_admin: object
    customer: object
    payment: object
    authorized_payment: object
    subscription: object
    dispute: object
    reviewed_dispute: object
    batch: object
    held_refund: object
    blacklist_entry: object
    key_secret: str
    foreign_key_secret: str
    revoked_key_secret: str
    values: dict = field(default_factory=dict)

    def fill(self, route: Route) -> dict[str, str]:
        values = dict(self.values)
        if route.name in USE_AUTHORIZED_PAYMENT:
            values["payment_id"] = self.authorized_payment.id
        if route.name in USE_REVIEWED_DISPUTE:
            values["dispute_id"] = self.reviewed_dispute.id
        return values

    def secrets_of_the_merchant(self) -> list[str]:
        """What another merchant must never see in a list."""
        return [
            self.payment.id,
            self.authorized_payment.id,
            self.customer.id,
            self.customer.email,
            self.dispute.id,
            self.reviewed_dispute.id,
            self.batch.id,
            self.held_refund.id,
            self.held_refund.payment_id,
        ]


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    merchant = MerchantFactory(name="Victim Shop")
    other = MerchantFactory(name="Foreign Shop")
    users = {
        "agent": UserFactory(
            email="agent@victim.test", merchant=merchant, role=roles.SUPPORT_AGENT
        ),
        "merchant_admin": UserFactory(
            email="admin@victim.test", merchant=merchant, role=roles.MERCHANT_ADMIN
        ),
        "platform_admin": UserFactory(
            email="platform@platform.test",
            merchant=None,
            is_staff=True,
            role=roles.PLATFORM_ADMIN,
        ),
    }
    foreign_admin = UserFactory(
        email="admin@foreign.test", merchant=other, role=roles.MERCHANT_ADMIN
    )
    customer = CustomerFactory(merchant=merchant, email="victim.customer@example.test")
    endpoint, _ = create_endpoint(
        merchant=merchant, url="http://127.0.0.1:9/hooks", event_types=list(EVENT_TYPES)
    )
    payment = PaymentFactory(merchant=merchant, customer=customer, amount=2500)
    authorized = PaymentFactory(merchant=merchant, customer=customer, amount=4000, capture=False)
    subscription = Subscription.objects.create(
        merchant=merchant,
        customer=customer,
        amount=900,
        currency="USD",
        interval=Subscription.Interval.MONTH,
        current_period_end=timezone.now() + timedelta(days=20),
    )
    disputed = PaymentFactory(merchant=merchant, customer=customer, amount=3000)
    reviewed = PaymentFactory(merchant=merchant, customer=customer, amount=3500)
    for charged_back in (disputed, reviewed):
        dispute_services.record_chargeback(
            merchant=merchant, payment_id=charged_back.id, actor=SYSTEM
        )
    dispute = Dispute.objects.get(payment=disputed)
    dispute_services.stage_evidence(
        merchant=merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        evidence={"product_description": "Shipped"},
    )
    evidence_file = dispute_services.add_evidence_file(
        merchant=merchant, actor=SYSTEM, dispute_id=dispute.id, upload=_pdf()
    )
    reviewed_dispute = dispute_services.stage_evidence(
        merchant=merchant,
        actor=SYSTEM,
        dispute_id=Dispute.objects.get(payment=reviewed).id,
        evidence={"product_description": "Shipped"},
        submit=True,
    )
    # A bulk refund's dry run, a draft: confirm and cancel can act on it.
    batch = bulk_services.create_batch(
        merchant=merchant,
        actor=Actor(user=users["agent"]),
        filename="refunds.csv",
        content=_refund_csv(payment.id).read(),
    )
    # A refund held for approval: over the USD threshold (the other refunds here are
    # under it), asked by the agent so that the merchant admin may decide on it.
    approvals.set_threshold(
        merchant=merchant, currency="USD", amount=5000, actor=Actor(user=users["merchant_admin"])
    )
    held_payment = PaymentFactory(merchant=merchant, customer=customer, amount=9000)
    held_refund = payment_services.reverse_payment(
        merchant=merchant, payment_id=held_payment.id, actor=Actor(user=users["agent"]), amount=6000
    )
    assert held_refund.status == held_refund.Status.REQUIRES_APPROVAL
    entry = BlacklistEntry.objects.create(email="listed@example.test", reason="fraud")
    # The foreign merchant has data of its own, with the same shapes.
    foreign_customer = CustomerFactory(merchant=other, email="foreign.customer@example.test")
    foreign_payment = PaymentFactory(merchant=other, customer=foreign_customer, amount=1500)
    bulk_services.create_batch(
        merchant=other,
        actor=Actor(user=foreign_admin),
        filename="refunds.csv",
        content=_refund_csv(foreign_payment.id).read(),
    )
    approvals.set_threshold(
        merchant=other, currency="USD", amount=500, actor=Actor(user=foreign_admin)
    )
    foreign_held = payment_services.reverse_payment(
        merchant=other, payment_id=foreign_payment.id, actor=Actor(user=foreign_admin), amount=1000
    )
    assert foreign_held.status == foreign_held.Status.REQUIRES_APPROVAL

    key, secret = make_api_key(merchant, name="victim")
    _, foreign_secret = make_api_key(other, name="foreign")
    revoked, revoked_secret = make_api_key(merchant, name="revoked")
    revoke_api_key(merchant=merchant, key_id=revoked.id)
    transaction_id = payment.transactions.first().id

    world = World(
        merchant=merchant,
        other=other,
        users=users,
        foreign_admin=foreign_admin,
        customer=customer,
        payment=payment,
        authorized_payment=authorized,
        subscription=subscription,
        dispute=dispute,
        reviewed_dispute=reviewed_dispute,
        batch=batch,
        held_refund=held_refund,
        blacklist_entry=entry,
        key_secret=secret,
        foreign_key_secret=foreign_secret,
        revoked_key_secret=revoked_secret,
    )
    world.values = {
        "payment_id": payment.id,
        "customer_id": customer.id,
        "subscription_id": subscription.id,
        "key_id": key.id,
        "transaction_id": transaction_id,
        "dispute_id": dispute.id,
        "file_id": evidence_file.id,
        "entry_id": str(entry.pk),
        "unknown_path": "no/such/thing",
        "endpoint_id": endpoint.id,
        "delivery_id": Delivery.objects.filter(event__data__id=payment.id).first().id,
        "event_id": Event.objects.filter(data__id=payment.id).first().id,
        "batch_id": batch.id,
        "refund_id": held_refund.id,
    }
    return world


# --- requests ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: str
    changes: list[str]


def _request(
    world: World,
    route: Route,
    method: str,
    *,
    user=None,
    bearer: str | None = None,
    values: dict | None = None,
    body: dict | None = None,
) -> Answer:
    """One request, inside a savepoint rolled back afterwards: every request sees the
    same world, and answers what it changed."""
    expectation = EXPECTED[route.name]
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    url = route.url(values if values is not None else world.fill(route))
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    with transaction.atomic():
        before = snapshot()
        if method == "GET":
            response = client.get(url, headers=headers)
        elif route.is_api and not expectation.multipart:
            if body is None:
                body = expectation.data(world) if expectation.data else {}
            response = client.post(
                url, json.dumps(body), content_type="application/json", headers=headers
            )
        else:
            if body is None:
                body = expectation.data(world) if expectation.data else {}
            response = client.post(url, body, headers=headers)
        changes = differences(before, snapshot())
        transaction.set_rollback(True)
    return Answer(
        status=response.status_code,
        location=response.get("Location", ""),
        body=(
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode(errors="replace"),
        changes=changes,
    )


def _login_redirect(answer: Answer) -> bool:
    login = settings.LOGIN_URL if settings.LOGIN_URL.startswith("/") else "/login/"
    return answer.status == 302 and answer.location.startswith(login)


def _route(name: str) -> Route:
    return next(route for route in ROUTES if route.name == name)


# --- the matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), cases())
def test_anonymous(world, name, method):
    route, expected = _route(name), EXPECTED[name]
    answer = _request(world, route, method)
    if route.is_api:
        wanted = expected.status if expected.public else 401
        if method == "POST" and expected.public_post is not None:
            wanted = expected.public_post
        assert answer.status == wanted, answer.body[:300]
        assert answer.body.lstrip().startswith("{") or name == "api:openapi-view"
    elif expected.public:
        assert answer.status == expected.public[0 if method == "GET" else 1]
    else:
        assert _login_redirect(answer), f"{answer.status} {answer.location}"
    assert not answer.changes, answer.changes


@pytest.mark.parametrize(("name", "method"), [c for c in cases() if not c[0].startswith("api:")])
@pytest.mark.parametrize("role", ROLES)
def test_dashboard_role(world, name, method, role):
    route, expected = _route(name), EXPECTED[name]
    wanted = (expected.get if method == "GET" else expected.post)[ROLES.index(role)]
    answer = _request(world, route, method, user=world.users[role])
    assert answer.status == wanted, f"{role} {method} {name}: {answer.status} {answer.location}"
    if wanted == 403:
        assert not answer.changes, f"forbidden {role} {method} {name} changed {answer.changes}"
    elif expected.acts and method == "POST":
        assert answer.changes, f"{role} POST {name} was allowed but did nothing"


@pytest.mark.parametrize(("name", "method"), [c for c in cases() if c[0].startswith("api:")])
def test_api_own_key(world, name, method):
    route, expected = _route(name), EXPECTED[name]
    answer = _request(world, route, method, bearer=world.key_secret)
    wanted = expected.status
    if method == "POST" and expected.public_post is not None:
        wanted = expected.public_post
    assert answer.status == wanted, answer.body[:300]
    if expected.acts and method == "POST":
        assert answer.changes, f"POST {name} was allowed but did nothing"


@pytest.mark.parametrize(
    ("name", "method"),
    [
        c
        for c in cases()
        if c[0].startswith("api:") and not getattr(EXPECTED.get(c[0]), "public", False)
    ],
)
@pytest.mark.parametrize("credential", ["session", "revoked_key", "malformed_key"])
def test_api_refuses_anything_but_a_live_key(world, name, method, credential):
    """A dashboard session is no API credential (so no cross-site request can use
    one), and a revoked or malformed key is no key."""
    route = _route(name)
    if credential == "session":
        answer = _request(world, route, method, user=world.users["merchant_admin"])
    elif credential == "revoked_key":
        answer = _request(world, route, method, bearer=world.revoked_key_secret)
    else:
        last = "A" if world.key_secret[-1] != "A" else "B"
        answer = _request(world, route, method, bearer=world.key_secret[:-1] + last)
    assert answer.status == 401, answer.body[:300]
    assert json.loads(answer.body)["error"]["type"] == "authentication_error"
    assert not answer.changes, answer.changes


@pytest.mark.parametrize(("name", "method"), cases())
def test_another_merchant(world, name, method):
    """Another merchant's admin (dashboard) or key (API), with every permission its
    own merchant allows: the first merchant's objects answer exactly as missing ones."""
    route, expected = _route(name), EXPECTED[name]
    actor = {"bearer": world.foreign_key_secret} if route.is_api else {"user": world.foreign_admin}
    if route.is_tenant_object:
        foreign_values = world.fill(route)
        missing_values = {**foreign_values, **{p: MISSING[p] for p in route.param_names}}
        foreign = _request(world, route, method, **actor)
        missing = _request(world, route, method, values=missing_values, **actor)
        assert foreign.status == missing.status, (foreign.status, missing.status)
        # The same answer, word for word, once the id asked for is set aside.
        requested = [(str(foreign_values[p]), str(missing_values[p])) for p in route.param_names]
        foreign_body, missing_body = foreign.body, missing.body
        for index, (foreign_id, missing_id) in enumerate(requested):
            foreign_body = foreign_body.replace(foreign_id, f"<id{index}>")
            missing_body = missing_body.replace(missing_id, f"<id{index}>")
        if route.is_api:
            assert foreign_body == missing_body
        if route.is_api:
            assert foreign.status == 404, foreign.body[:300]
            assert json.loads(foreign.body)["error"]["type"] == "not_found"
        else:
            # 404, unless the role itself is refused first (403) or the view redirects a
            # GET of a POST-only URL to the object's page, which then answers 404.
            assert foreign.status in (404, 403, 302), foreign.status
            if foreign.status == 302:
                assert not _login_redirect(foreign)
        assert not foreign.changes, foreign.changes
        for secret in world.secrets_of_the_merchant():
            assert secret not in foreign_body, f"{name} shows {secret} to another merchant"
        return
    if method == "POST" and isinstance(expected, Api) and expected.foreign_data:
        answer = _request(world, route, method, body=expected.foreign_data(world), **actor)
        assert answer.status in (400, 404), answer.body[:300]
        assert not answer.changes, answer.changes
        return
    if method == "GET":
        answer = _request(world, route, method, **actor)
        for secret in world.secrets_of_the_merchant():
            assert secret not in answer.body, f"{name} shows {secret} to another merchant"
