"""HTMX answers: a page or its partial, events for the page, and the one dialog pattern.

A dialog view (Luke Plant's django-htmx-patterns "modals") reads:

    form = SomeForm(request.POST or None, ...)
    if request.method == "POST" and form.is_valid():
        if (made := submit_once(request, form, purpose=..., action=...)) is not None:
            return dialog_done(request, toast=..., redirect_to=..., someChanged=...)
    return render_dialog(request, "app/template.html", context, title="...")

GET renders the `<dialog>` that HTMX appends to the body; a POST with errors re-renders
the form inside it (200); success answers `HX-Trigger` events (`closeDialog`, a toast,
what changed). Without JavaScript the same URL is a page with a plain form, and success
redirects. A confirmation (a form with only its token) is core.confirm.confirm_dialog.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers


def wants_partial(request: HttpRequest) -> bool:
    """An HTMX request that swaps part of the page (not a history restore, which needs
    the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest, template: str, context: dict, *, partial: str | None = None, **kw
) -> HttpResponse:
    """Render the full page, or only `template#partial` for an HTMX request. The
    response varies on HX-Request, so a browser cache never serves a fragment as a page."""
    name = f"{template}#{partial}" if partial and wants_partial(request) else template
    response = render(request, name, context, **kw)
    patch_vary_headers(response, ("HX-Request",))
    return response


def hx_events(response: HttpResponse, **events) -> HttpResponse:
    """Add HX-Trigger events (merged with any already set)."""
    existing = json.loads(response.get("HX-Trigger", "{}"))
    existing.update(events)
    response["HX-Trigger"] = json.dumps(existing)
    return response


def render_dialog(request: HttpRequest, template: str, context: dict, *, title: str):
    """A dialog's form, `template#form`: inside a `<dialog>` for an HTMX GET, alone for
    an HTMX POST (errors shown in place), and `template` as a page of its own without
    JavaScript, where the form posts as a plain form."""
    in_dialog = wants_partial(request)
    body = f"{template}#form"
    context = {**context, "in_dialog": in_dialog, "dialog_title": title, "dialog_body": body}
    if not in_dialog:
        return render(request, template, context)
    return render(request, "_dialog.html" if request.method == "GET" else body, context)


def dialog_done(
    request: HttpRequest,
    *,
    toast: str,
    redirect_to: str,
    level: str = "success",
    leaves_the_page: bool = False,
    **events,
) -> HttpResponse:
    """The answer to a dialog's successful POST. HTMX: nothing to swap (204), and the
    events that close the dialog, refresh what changed and show the toast. Without
    JavaScript: the message, and a redirect to `redirect_to`. `leaves_the_page`: the
    page under the dialog is gone (a delete), so HTMX too goes to `redirect_to`
    (HX-Redirect), where the message waits."""
    if wants_partial(request) and leaves_the_page:
        messages.add_message(request, getattr(messages, level.upper()), toast)
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to
        return response
    if wants_partial(request):
        toast_event = {"text": toast, "level": level}
        return hx_events(HttpResponse(status=204), closeDialog=True, toast=toast_event, **events)
    messages.add_message(request, getattr(messages, level.upper()), toast)
    return redirect(redirect_to)
