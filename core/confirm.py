"""The confirmation dialog: core.htmx's one dialog pattern for a form that holds only
its form token ("Revoke this key?", "Delete this endpoint?").

GET renders the dialog; a POST runs the service once per form token
(core.forms.submit_once) and answers what the view says (usually `dialog_done`); a
refusal is shown in the re-rendered dialog.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .forms import TokenForm, submit_once
from .htmx import render_dialog


def confirm_dialog(
    request: HttpRequest,
    form: TokenForm,
    *,
    purpose: str,
    action: Callable[[], str],
    answer: Callable[[], HttpResponse],
    template: str,
    context: dict,
    title: str,
    allowed: bool = True,
) -> HttpResponse:
    """`action` is the service call (answering the id of what it changed), run once per
    form token under `purpose`; `answer()` makes the response to its success. Not
    `allowed` (e.g. the key is already revoked): a POST does nothing and the dialog,
    `template#form` with `context`, says why."""
    if (
        request.method == "POST"
        and allowed
        and form.is_valid()
        and submit_once(request, form, purpose=purpose, action=action) is not None
    ):
        return answer()
    return render_dialog(request, template, {**context, "form": form}, title=title)
