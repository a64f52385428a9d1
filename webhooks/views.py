"""Webhook endpoints in the dashboard (SPEC 11), for merchant admins: the list, an
endpoint's page with its delivery log, and the dialogs (create, edit, disable, enable,
delete, rotate the secret, send a test event, resend a delivery). A secret is shown in
the answer to the POST that made it and never again."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.dashboard import actor_for, dashboard_view
from core.forms import submit_once
from core.htmx import dialog_done, hx_events, render_dialog, render_page, wants_partial
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
        made: dict[str, str] = {}

        def create() -> str:
            endpoint, made["secret"] = services.create_endpoint(
                merchant=request.merchant,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
                created_by=request.user,
                actor=actor_for(request),
            )
            return endpoint.id

        if endpoint_id := submit_once(request, form, purpose="webhook_create", action=create):
            context |= {"endpoint": _endpoint(request, endpoint_id), "secret": made.get("secret")}
            response = render_dialog(
                request, "webhooks/secret.html", context, title="Webhook endpoint added"
            )
            return hx_events(response, webhooksChanged=True)
    return render_dialog(request, "webhooks/create.html", context, title="Add an endpoint")


@dashboard_view(PERMISSION)
@never_cache
def endpoint_rotate(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
    endpoint = _endpoint(request, endpoint_id)
    form = ConfirmForm(request.POST or None)
    context = {"nav": "webhooks", "endpoint": endpoint, "form": form}
    if request.method == "POST" and form.is_valid():
        made: dict[str, str] = {}

        def rotate() -> str:
            _, made["secret"] = services.rotate_secret(
                merchant=request.merchant, endpoint_id=endpoint.id, actor=actor_for(request)
            )
            return endpoint.id

        if submit_once(request, form, purpose=f"webhook_rotate:{endpoint.id}", action=rotate):
            context |= {"secret": made.get("secret"), "rotated": True}
            response = render_dialog(request, "webhooks/secret.html", context, title="New secret")
            return hx_events(response, webhooksChanged=True)
    context |= {
        "message": "Make a new signing secret? The current one keeps signing beside it for 24 "
        "hours, so your server can switch without missing a message.",
        "submit": "Rotate secret",
        "action": reverse("webhooks:rotate", args=[endpoint.id]),
    }
    return render_dialog(request, "webhooks/confirm.html", context, title="Rotate the secret")


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
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
                actor=actor_for(request),
            ).id

        if submit_once(request, form, purpose=f"webhook_edit:{endpoint.id}", action=save):
            return dialog_done(
                request,
                toast="Endpoint saved",
                redirect_to=reverse("webhooks:detail", args=[endpoint.id]),
                webhooksChanged=True,
            )
    context = {"nav": "webhooks", "endpoint": endpoint, "form": form}
    return render_dialog(request, "webhooks/edit.html", context, title="Edit the endpoint")


def _confirm(
    request: HttpRequest,
    endpoint: Endpoint,
    *,
    purpose: str,
    action: Callable[[], str],
    title: str,
    message: str,
    submit: str,
    toast: str,
    url: str,
    redirect_to: str | None = None,
    leaves_the_page: bool = False,
    style: str = "primary",
    **events,
) -> HttpResponse:
    """A confirmation dialog: GET asks, POST acts once per form token. `leaves_the_page`:
    the endpoint's page is gone afterwards (a delete), so HTMX goes to `redirect_to`."""
    form = ConfirmForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and submit_once(request, form, purpose=purpose, action=action)
    ):
        if leaves_the_page and wants_partial(request):
            messages.success(request, toast)
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to
            return response
        return dialog_done(
            request,
            toast=toast,
            redirect_to=redirect_to or reverse("webhooks:detail", args=[endpoint.id]),
            **events,
        )
    context = {
        "nav": "webhooks",
        "endpoint": endpoint,
        "form": form,
        "message": message,
        "submit": submit,
        "style": style,
        "action": url,
    }
    return render_dialog(request, "webhooks/confirm.html", context, title=title)


@dashboard_view(PERMISSION)
def endpoint_disable(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_disable:{endpoint.id}",
        action=lambda: (
            services.set_endpoint_enabled(
                merchant=request.merchant,
                endpoint_id=endpoint.id,
                enabled=False,
                actor=actor_for(request),
            ).id
        ),
        title="Disable the endpoint",
        message=f"Stop sending events to {endpoint.url}? What happens meanwhile waits, and is "
        "sent when the endpoint is enabled again.",
        submit="Disable",
        style="danger",
        toast="Endpoint disabled",
        url=reverse("webhooks:disable", args=[endpoint.id]),
        webhooksChanged=True,
    )


@dashboard_view(PERMISSION)
def endpoint_enable(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_enable:{endpoint.id}",
        action=lambda: (
            services.set_endpoint_enabled(
                merchant=request.merchant,
                endpoint_id=endpoint.id,
                enabled=True,
                actor=actor_for(request),
            ).id
        ),
        title="Enable the endpoint",
        message=f"Send events to {endpoint.url} again? The deliveries that are still pending "
        "are sent first.",
        submit="Enable",
        toast="Endpoint enabled",
        url=reverse("webhooks:enable", args=[endpoint.id]),
        webhooksChanged=True,
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
        title="Delete the endpoint",
        message=f"Delete {endpoint.url} and its delivery log? Nothing more is sent to it. "
        "This cannot be undone.",
        submit="Delete",
        style="danger",
        toast="Endpoint deleted",
        url=reverse("webhooks:delete", args=[endpoint.id]),
        redirect_to=reverse("webhooks:list"),
        leaves_the_page=True,
    )


@dashboard_view(PERMISSION)
def endpoint_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    return _confirm(
        request,
        endpoint,
        purpose=f"webhook_test:{endpoint.id}",
        action=lambda: (
            services.send_test_event(merchant=request.merchant, endpoint_id=endpoint.id).id
        ),
        title="Send a test event",
        message=f"Send a signed webhook.test event to {endpoint.url}? It shows in the delivery "
        "log like any other.",
        submit="Send test event",
        toast="Test event sent",
        url=reverse("webhooks:test", args=[endpoint.id]),
        deliveriesChanged=True,
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
        title="Resend the event",
        message=f"Send this event to {endpoint.url} again now? Receivers recognize a repeat "
        "by its webhook-id.",
        submit="Resend",
        toast="Event resent",
        url=reverse("webhooks:resend", args=[endpoint.id, delivery_id]),
        deliveriesChanged=True,
    )
