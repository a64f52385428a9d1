"""Webhook endpoints in the dashboard (SPEC 11), for merchant admins: the list, an
endpoint's page with its delivery log, and the dialogs (create, edit, disable, enable,
delete, rotate the secret, send a test event, resend a delivery). A secret is shown in
the answer to the POST that made it and never again."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.confirm import confirm_dialog
from core.dashboard import actor_for, dashboard_view
from core.forms import SecretOnce, submit_once
from core.htmx import dialog_done, hx_events, render_dialog, render_page
from core.paging import page_or_refusal, pager

from . import selectors, services
from .forms import ConfirmForm, EndpointForm
from .models import Endpoint

PERMISSION = "webhooks.manage_webhooks"


def _endpoint(request: HttpRequest, endpoint_id: str) -> Endpoint:
    endpoint = selectors.get_endpoint(merchant=request.merchant, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint")
    return endpoint


def _endpoint_changed(
    request: HttpRequest, endpoint: Endpoint, *, toast: str, **events
) -> HttpResponse:
    """A dialog's success on an endpoint: the toast, and back to the endpoint's page."""
    redirect_to = reverse("webhooks:detail", args=[endpoint.id])
    return dialog_done(request, toast=toast, redirect_to=redirect_to, **events)


def _event_sent(request: HttpRequest, endpoint: Endpoint, *, toast: str) -> HttpResponse:
    """A dialog that sent an event to the endpoint: its delivery log shows it."""
    return _endpoint_changed(request, endpoint, toast=toast, deliveriesChanged=True)


def _show_secret(request: HttpRequest, context: dict, *, title: str) -> HttpResponse:
    """The answer to the POST that made a secret (the only time it is shown)."""
    response = render_dialog(request, "webhooks/secret.html", context, title=title)
    return hx_events(response, webhooksChanged=True)


def _endpoint_form(request: HttpRequest, context: dict, *, title: str, submit: str) -> HttpResponse:
    """The create and edit dialogs' form (one template, posting back to this URL)."""
    context |= {"action": request.path, "submit": submit}
    return render_dialog(request, "webhooks/endpoint_form.html", context, title=title)


@dashboard_view(PERMISSION)
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    context = {"nav": "webhooks", "endpoints": selectors.list_endpoints(merchant=request.merchant)}
    return render_page(request, "webhooks/list.html", context, partial="endpoints")


@dashboard_view(PERMISSION)
def endpoint_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    after, before = request.GET.get("after") or None, request.GET.get("before") or None
    page, error = page_or_refusal(
        selectors.list_deliveries, endpoint=endpoint, starting_after=after, ending_before=before
    )
    url = reverse("webhooks:detail", args=[endpoint.id])
    context = {
        "nav": "webhooks",
        "endpoint": endpoint,
        "page": page,
        "error": error,
        "pager": pager(url, page, filters={}, after=after or before, newer=True),
    }
    return render_page(request, "webhooks/detail.html", context, partial="endpoint")


@dashboard_view(PERMISSION)
@never_cache  # Cache-Control: no-store: the answer to the POST holds the secret
def endpoint_create(request: HttpRequest) -> HttpResponse:
    """One endpoint per form token, its secret shown in the answer to that POST only."""
    form = EndpointForm(request.POST or None)
    context = {"nav": "webhooks", "form": form}
    if request.method == "POST" and form.is_valid():
        create = SecretOnce(
            lambda: services.create_endpoint(
                merchant=request.merchant,
                created_by=request.user,
                actor=actor_for(request),
                **form.endpoint_fields(),
            )
        )
        if endpoint_id := submit_once(request, form, purpose="webhook_create", action=create):
            context |= {"endpoint": _endpoint(request, endpoint_id), "secret": create.secret}
            return _show_secret(request, context, title="Webhook endpoint added")
    return _endpoint_form(request, context, title="Add an endpoint", submit="Add endpoint")


@dashboard_view(PERMISSION)
def endpoint_edit(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():

        def save() -> str:
            return services.update_endpoint(
                merchant=request.merchant,
                endpoint_id=endpoint.id,
                actor=actor_for(request),
                **form.endpoint_fields(),
            ).id

        if submit_once(request, form, purpose=f"webhook_edit:{endpoint.id}", action=save):
            return _endpoint_changed(
                request, endpoint, toast="Endpoint saved", webhooksChanged=True
            )
    context = {"nav": "webhooks", "endpoint": endpoint, "form": form}
    return _endpoint_form(request, context, title="Edit the endpoint", submit="Save")


def _confirm(
    request: HttpRequest,
    endpoint: Endpoint,
    *,
    title: str,
    message: str,
    submit: str,
    style: str = "primary",
    **dialog,
) -> HttpResponse:
    """A confirmation dialog on an endpoint, posting back to this URL: `message` and a
    `submit` button; `dialog` is the rest of core.confirm's (purpose, action, answer)."""
    context = {
        "nav": "webhooks",
        "endpoint": endpoint,
        "message": message,
        "submit": submit,
        "style": style,
        "action": request.path,
    }
    form = ConfirmForm(request.POST or None)
    template = "webhooks/confirm.html"
    return confirm_dialog(request, form, template=template, context=context, title=title, **dialog)


@dashboard_view(PERMISSION)
def endpoint_set_enabled(request: HttpRequest, endpoint_id: str, *, enabled: bool) -> HttpResponse:
    """Disable an endpoint (what happens meanwhile waits) or enable it again; the URL
    says which (`webhooks:disable`, `webhooks:enable`)."""
    endpoint = _endpoint(request, endpoint_id)
    verb = "enable" if enabled else "disable"
    message = (
        f"Send events to {endpoint.url} again? The deliveries that are still pending are "
        "sent first."
        if enabled
        else f"Stop sending events to {endpoint.url}? What happens meanwhile waits, and is "
        "sent when the endpoint is enabled again."
    )
    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_{verb}:{endpoint.id}",
        action=lambda: (
            services.set_endpoint_enabled(
                merchant=request.merchant,
                endpoint_id=endpoint.id,
                enabled=enabled,
                actor=actor_for(request),
            ).id
        ),
        answer=lambda: _endpoint_changed(
            request, endpoint, toast=f"Endpoint {verb}d", webhooksChanged=True
        ),
        title=f"{verb.capitalize()} the endpoint",
        message=message,
        submit=verb.capitalize(),
        style="primary" if enabled else "danger",
    )


@dashboard_view(PERMISSION)
@never_cache  # Cache-Control: no-store: the answer to the POST holds the secret
def endpoint_rotate(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
    endpoint = _endpoint(request, endpoint_id)
    rotate = SecretOnce(
        lambda: services.rotate_secret(
            merchant=request.merchant, endpoint_id=endpoint.id, actor=actor_for(request)
        )
    )
    context = {"nav": "webhooks", "endpoint": endpoint, "rotated": True}
    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_rotate:{endpoint.id}",
        action=rotate,
        answer=lambda: _show_secret(
            request, context | {"secret": rotate.secret}, title="New secret"
        ),
        title="Rotate the secret",
        message="Make a new signing secret? The current one keeps signing beside it for 24 "
        "hours, so your server can switch without missing a message.",
        submit="Rotate secret",
    )


@dashboard_view(PERMISSION)
def endpoint_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)

    def delete() -> str:
        services.delete_endpoint(
            merchant=request.merchant, endpoint_id=endpoint.id, actor=actor_for(request)
        )
        return endpoint.id

    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_delete:{endpoint.id}",
        action=delete,
        answer=lambda: dialog_done(
            request,
            toast="Endpoint deleted",
            redirect_to=reverse("webhooks:list"),
            leaves_the_page=True,
        ),
        title="Delete the endpoint",
        message=f"Delete {endpoint.url} and its delivery log? Nothing more is sent to it. "
        "This cannot be undone.",
        submit="Delete",
        style="danger",
    )


@dashboard_view(PERMISSION)
def endpoint_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)

    def send() -> str:
        return services.send_test_event(merchant=request.merchant, endpoint_id=endpoint.id).id

    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_test:{endpoint.id}",
        action=send,
        answer=lambda: _event_sent(request, endpoint, toast="Test event sent"),
        title="Send a test event",
        message=f"Send a signed webhook.test event to {endpoint.url}? It shows in the delivery "
        "log like any other.",
        submit="Send test event",
    )


@dashboard_view(PERMISSION)
def delivery_resend(request: HttpRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_resend:{delivery_id}",
        action=lambda: (
            services.resend_delivery(
                merchant=request.merchant, endpoint_id=endpoint.id, delivery_id=delivery_id
            ).id
        ),
        answer=lambda: _event_sent(request, endpoint, toast="Event resent"),
        title="Resend the event",
        message=f"Send this event to {endpoint.url} again now? Receivers recognize a repeat "
        "by its webhook-id.",
        submit="Resend",
    )
