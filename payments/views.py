"""Dashboard pages of payments: the list, a payment, the refund/void dialog, the overview.

HTMX: the list swaps only its results (`payments/list.html#results`); the payment page
re-fetches its live part (`payments/detail.html#live`) on `paymentChanged` and, while a
capture or reversal waits for the gateway, every 2 seconds. Every form also works as a
plain POST that redirects.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from customers.services import is_email_blacklisted
from merchants.dashboard import (
    FormToken,
    actor_for,
    dashboard_view,
    dialog_done,
    render_page,
    wants_partial,
)
from merchants.errors import DomainError, NotFound
from merchants.paging import Page

from . import dashboard_selectors, money, selectors, services
from .forms import PaymentFilterForm, ReversalForm
from .models import DisplayStatus, Payment, Transaction

PAGE_SIZE = 25


def decorate_for_list(payment: Payment) -> Payment:
    """What a list row shows that the template cannot compute: the formatted amount and
    the display status's label (a GeneratedField gets no get_FOO_display)."""
    payment.amount_display = payment.format_amount(payment.amount)
    payment.display_status_label = DisplayStatus(payment.display_status).label
    return payment


def get_payment_or_404(request: HttpRequest, payment_id: str) -> Payment:
    try:
        return selectors.get_payment(merchant=request.merchant, payment_id=payment_id)
    except NotFound:
        raise Http404("No such payment") from None


# --- list ---------------------------------------------------------------------------------


@dashboard_view("payments.view_payment")
def payment_list(request: HttpRequest) -> HttpResponse:
    form = PaymentFilterForm(request.GET)
    form.is_valid()
    filters = {name: form.cleaned_data.get(name) or "" for name in ("status", "q", "after")}
    error = None
    try:
        page = selectors.list_payments(
            merchant=request.merchant,
            display_status=filters["status"] or None,
            search=filters["q"] or None,
            starting_after=filters["after"] or None,
            limit=PAGE_SIZE,
        )
    except DomainError as refused:
        page, error = Page(items=[], has_more=False), refused.message
    for payment in page.items:
        decorate_for_list(payment)

    base_query = {k: v for k, v in filters.items() if v and k != "after"}
    list_url = reverse("payments:list")
    context = {
        "nav": "payments",
        "form": form,
        "page": page,
        "error": error,
        "filtered": bool(base_query),
        "is_first_page": not filters["after"],
        "newest_url": f"{list_url}?{urlencode(base_query)}" if base_query else list_url,
        "older_url": (
            f"{list_url}?{urlencode({**base_query, 'after': page.next_cursor})}"
            if page.next_cursor
            else None
        ),
    }
    return render_page(request, "payments/list.html", context, partial="results")


# --- one payment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountLine:
    label: str
    value: str
    emphasis: bool = False


def reversal_blocked_reason(payment: Payment) -> str | None:
    """Why nothing can be refunded or voided, for the disabled button; None if it can."""
    if payment.status != Payment.Status.SUCCEEDED:
        return "The payment failed: there is nothing to refund."
    if payment.is_voided:
        return "The payment was voided: there is nothing left to reverse."
    if payment.amount_reversible <= 0:
        return "Everything captured has already been refunded."
    return None


def payment_context(payment: Payment) -> dict:
    fmt = payment.format_amount
    transactions = list(payment.transactions.all())
    for txn in transactions:
        txn.amount_display = fmt(txn.amount)
    amounts = [
        AmountLine("Authorized", fmt(payment.amount)),
        AmountLine("Captured", fmt(payment.amount_captured)),
        AmountLine("Reversed", fmt(payment.amount_reversed)),
        AmountLine("Pending at the gateway", fmt(payment.amount_reversal_pending)),
        AmountLine("Still reversible", fmt(payment.amount_reversible), emphasis=True),
    ]
    chargeback = next((t for t in transactions if t.type == Transaction.Type.CHARGEBACK), None)
    customer = payment.customer
    return {
        "nav": "payments",
        "payment": payment,
        "amount_display": fmt(payment.amount),
        "status_label": DisplayStatus(payment.display_status).label,
        "amounts": amounts,
        "transactions": transactions,
        "chargeback_txn": chargeback,
        "customer": customer,
        "customer_blacklisted": bool(customer and is_email_blacklisted(customer.email)),
        "reversal_label": "Refund" if payment.is_captured else "Void",
        "reversal_blocked": reversal_blocked_reason(payment),
        # Poll while the gateway still owes an answer, so the page settles by itself.
        "polling": any(t.status == Transaction.Status.PENDING for t in transactions),
    }


@dashboard_view("payments.view_payment")
def payment_detail(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_payment_or_404(request, payment_id)
    return render_page(request, "payments/detail.html", payment_context(payment), partial="live")


# --- refund / void dialog ---------------------------------------------------------------------

_REVERSAL_FIELDS = {"amount": "amount", "reason": "reason", "note": "note"}


def _reversal_done(request: HttpRequest, payment: Payment, reversal: Transaction) -> HttpResponse:
    label = "Void" if reversal.type == Transaction.Type.VOID else "Refund"
    text = f"{label} of {payment.format_amount(reversal.amount)} recorded"
    if wants_partial(request):
        return dialog_done(toast=text, paymentChanged={"id": payment.id})
    messages.success(request, text)
    return redirect("payments:detail", payment_id=payment.id)


@dashboard_view("payments.view_payment", "payments.reverse_payment")
def payment_reverse(request: HttpRequest, payment_id: str) -> HttpResponse:
    """GET: the refund (or void) form, as a dialog for HTMX or as a page. POST: reverse
    once per form token; errors re-render the form (200) with the messages inside."""
    payment = get_payment_or_404(request, payment_id)
    if request.method == "POST":
        form = ReversalForm(request.POST, payment=payment)
        # When nothing is reversible any more the template says why instead of the form.
        if reversal_blocked_reason(payment) is None and form.is_valid():
            token = FormToken(
                merchant=request.merchant,
                user_id=request.user.pk,
                purpose=f"reverse:{payment.id}",
                token=form.cleaned_data["token"],
            )
            if token.claim():
                try:
                    reversal = services.reverse_payment(
                        merchant=request.merchant,
                        payment_id=payment.id,
                        actor=actor_for(request),
                        amount=form.minor_amount,
                        is_external=form.cleaned_data["is_external"],
                        reason=form.cleaned_data["reason"],
                        note=form.cleaned_data["note"],
                    )
                except DomainError as refused:
                    token.release()
                    field = _REVERSAL_FIELDS.get(refused.param or "")
                    form.add_error(field if field in form.fields else None, refused.message)
                else:
                    token.complete(reversal.id)
                    return _reversal_done(request, payment, reversal)
            elif (first_id := token.outcome()) is not None:
                # The same form sent again (double click, resubmit): answer the first
                # outcome, never a second reversal.
                reversal = Transaction.objects.for_merchant(request.merchant).get(id=first_id)
                return _reversal_done(request, payment, reversal)
            else:
                form.add_error(None, "This refund is already being submitted. Please wait.")
    else:
        form = ReversalForm(payment=payment)

    label = "Refund" if payment.is_captured else "Void"
    context = {
        "nav": "payments",
        "form": form,
        "payment": payment,
        "action_label": label,
        "blocked_reason": reversal_blocked_reason(payment),
        "reversible_display": payment.format_amount(payment.amount_reversible),
        "dialog_title": f"{label} payment",
        "dialog_body": "payments/reverse.html#form",
    }
    # In a dialog the form posts with HTMX; on its own page (no JS) it is a plain form.
    context["in_dialog"] = wants_partial(request)
    if wants_partial(request):
        template = "_dialog.html" if request.method == "GET" else "payments/reverse.html#form"
        return render(request, template, context)
    return render(request, "payments/reverse.html", context)


# --- overview -------------------------------------------------------------------------------

CHART_WIDTH = 600
CHART_HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


def bar_chart(series: dashboard_selectors.CurrencySeries, *, by: str) -> dict:
    """Geometry of an SVG bar chart (one bar per day), computed here so the template
    only places rectangles; `by` is "amount" or "count"."""
    values = [getattr(day, by) for day in series.days]
    peak = max(values, default=0) or 1
    slot = CHART_WIDTH / max(len(values), 1)
    bars = []
    for day, value in zip(series.days, values, strict=True):
        height = round(CHART_HEIGHT * value / peak, 1) if value else 0
        shown = money.format_minor(value, series.currency) if by == "amount" else str(value)
        bars.append(
            Bar(
                x=round(slot * len(bars) + slot * 0.15, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                title=f"{day.day:%b} {day.day.day}: {shown}",
            )
        )
    return {
        "bars": bars,
        "peak": money.format_minor(peak, series.currency) if by == "amount" else str(peak),
        "first_day": series.days[0].day if series.days else None,
        "last_day": series.days[-1].day if series.days else None,
    }


def _chart_panels(all_series: list[dashboard_selectors.CurrencySeries]) -> list[dict]:
    return [
        {
            "currency": s.currency,
            "count": s.count,
            "amount": money.format_minor(s.amount, s.currency),
            "chart": bar_chart(s, by="amount"),
        }
        for s in all_series
    ]


@dashboard_view("payments.view_payment")
def overview(request: HttpRequest) -> HttpResponse:
    days = dashboard_selectors.DEFAULT_DAYS
    first_day, last_day = dashboard_selectors.window(days=days)
    refunds = dashboard_selectors.refunds_by_day(merchant=request.merchant, days=days)
    chargebacks = dashboard_selectors.chargebacks_by_day(merchant=request.merchant, days=days)
    context = {
        "nav": "overview",
        "days": days,
        "first_day": first_day,
        "last_day": last_day,
        "refund_panels": _chart_panels(refunds),
        "chargeback_panels": _chart_panels(chargebacks),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
    }
    return render(request, "payments/overview.html", context)
