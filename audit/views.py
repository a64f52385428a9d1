"""The merchant's activity log in the dashboard (merchant admins): every money and
customer action, who did it, from where, and whether it was refused."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from merchants.dashboard import dashboard_view, render_page
from merchants.errors import DomainError
from merchants.paging import Page

from .models import AuditEntry
from .selectors import list_activity

PAGE_SIZE = 50
# Actions that belong to a merchant (role and staff changes are platform matters).
MERCHANT_ACTIONS = [
    (value, label)
    for value, label in AuditEntry.Action.choices
    if not value.startswith(("user.", "blacklist."))
]


class ActivityFilterForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("", "All actions"), *MERCHANT_ACTIONS], required=False, label="Action"
    )
    target = forms.CharField(required=False, max_length=255, label="Payment, customer or key id")
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


@dashboard_view("audit.view_auditentry")
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    filters = {name: cleaned.get(name) or "" for name in ("action", "target", "after")}
    error = None
    try:
        page = list_activity(
            merchant=request.merchant,
            action=filters["action"] or None,
            target_id=filters["target"] or None,
            starting_after=filters["after"] or None,
            limit=PAGE_SIZE,
        )
    except DomainError as refused:
        page, error = Page(items=[], has_more=False), refused.message
    base = {k: v for k, v in filters.items() if v and k != "after"}
    url = reverse("audit:activity")
    older_url = (
        f"{url}?{urlencode({**base, 'after': page.items[-1].pk})}" if page.has_more else None
    )
    context = {
        "nav": "activity",
        "form": form,
        "entries": page.items,
        "error": error,
        "older_url": older_url,
        "newest_url": f"{url}?{urlencode(base)}" if base else url,
        "is_first_page": not filters["after"],
        "filtered": bool(base),
    }
    return render_page(request, "audit/activity.html", context, partial="results")
