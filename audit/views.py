"""The merchant's activity log in the dashboard (merchant admins): every money and
customer action, who did it, from where, and whether it was refused, each entry told
as a sentence (audit.sentences)."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.dashboard import dashboard_view
from core.htmx import render_page
from core.paging import page_or_refusal, pager

from .models import AuditEntry
from .selectors import list_activity
from .sentences import describe

PAGE_SIZE = 50


class ActivityFilterForm(forms.Form):
    # Every action: a merchant's trail also holds blacklistings (from its chargebacks)
    # and the role changes of its own members.
    action = forms.ChoiceField(
        choices=[("", "All actions"), *AuditEntry.Action.choices], required=False, label="Action"
    )
    target = forms.CharField(required=False, max_length=255, label="Payment, customer or key id")
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


@dashboard_view("audit.view_auditentry")
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    filters = {name: cleaned.get(name) or "" for name in ("action", "target")}
    after = cleaned.get("after") or None
    page, error = page_or_refusal(
        list_activity,
        merchant=request.merchant,
        action=filters["action"] or None,
        target_id=filters["target"] or None,
        starting_after=after,
        limit=PAGE_SIZE,
    )
    context = {
        "nav": "activity",
        "form": form,
        "entries": [describe(entry) for entry in page.items],
        "error": error,
        "pager": pager(reverse("audit:activity"), page, filters=filters, after=after),
        "filtered": any(filters.values()),
    }
    return render_page(request, "audit/activity.html", context, partial="results")
