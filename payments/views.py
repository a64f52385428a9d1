"""Dashboard pages of payments: the list, a payment, the refund/void dialog, the overview.

HTMX: the list swaps only its results (`payments/list.html#results`); the payment page
re-fetches its live part (`payments/detail.html#live`) on `paymentChanged` and, while a
capture or reversal waits for the gateway, every 2 seconds. Every form also works as a
plain POST that redirects.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core.dashboard import actor_for, dashboard_view
from core.errors import NotFound
from core.forms import submit_once
from core.htmx import dialog_done, render_dialog, render_page
from core.paging import page_or_refusal, pager
from customers.selectors import is_email_blacklisted

from . import charts, dashboard_selectors, selectors, services
from .forms import OverviewRangeForm, PaymentFilterForm, ReversalForm
from .models import Payment, Transaction

PAGE_SIZE = 25


def get_payment_or_404(request: HttpRequest, payment_id: str) -> Payment:
    try:
        return selectors.get_payment(merchant=request.merchant, payment_id=payment_id)
    except NotFound:
        raise Http404("No such payment") from None


def reversal_blocked(payment: Payment) -> str | None:
    """The disabled Refund/Void button's reason, in the payment's own words."""
    why = payment.reversal_refusal()
    return f"Payment cannot be reversed: {why}." if why else None


# --- list ---------------------------------------------------------------------------------


@dashboard_view("payments.view_payment")
def payment_list(request: HttpRequest) -> HttpResponse:
    form = PaymentFilterForm(request.GET)
    form.is_valid()
    filters = {name: form.cleaned_data.get(name) or "" for name in ("status", "q")}
    after = form.cleaned_data.get("after") or None
    page, error = page_or_refusal(
        selectors.list_payments,
        merchant=request.merchant,
        display_status=filters["status"] or None,
        search=filters["q"] or None,
        starting_after=after,
        limit=PAGE_SIZE,
    )
    context = {
        "nav": "payments",
        "form": form,
        "page": page,
        "error": error,
        "filtered": any(filters.values()),
        "pager": pager(reverse("payments:list"), page, filters=filters, after=after),
    }
    return render_page(request, "payments/list.html", context, partial="results")


# --- one payment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountLine:
    label: str
    value: str
    emphasis: bool = False


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
        "status_label": payment.display_status_label,
        "amounts": amounts,
        "transactions": transactions,
        "chargeback_txn": chargeback,
        "customer": customer,
        "customer_blacklisted": bool(customer and is_email_blacklisted(customer.email)),
        "reversal_label": "Refund" if payment.is_captured else "Void",
        "reversal_blocked": reversal_blocked(payment),
        # Poll while the gateway still owes an answer, so the page settles by itself.
        "polling": any(t.status == Transaction.Status.PENDING for t in transactions),
    }


@dashboard_view("payments.view_payment")
def payment_detail(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_payment_or_404(request, payment_id)
    return render_page(request, "payments/detail.html", payment_context(payment), partial="live")


# --- refund / void dialog ---------------------------------------------------------------------


@dashboard_view("payments.view_payment", "payments.reverse_payment")
def payment_reverse(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The refund (or void) dialog: reverse once per form token."""
    payment = get_payment_or_404(request, payment_id)
    form = ReversalForm(request.POST or None, payment=payment)
    blocked = reversal_blocked(payment)
    if request.method == "POST" and blocked is None and form.is_valid():
        reversal_id = submit_once(
            request,
            form,
            purpose=f"reverse:{payment.id}",
            busy="This refund is already being submitted. Please wait.",
            action=lambda: (
                services.reverse_payment(
                    merchant=request.merchant,
                    payment_id=payment.id,
                    actor=actor_for(request),
                    amount=form.minor_amount,
                    is_external=form.cleaned_data["is_external"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                ).id
            ),
        )
        if reversal_id is not None:
            reversal = Transaction.objects.for_merchant(request.merchant).get(id=reversal_id)
            label = "Void" if reversal.type == Transaction.Type.VOID else "Refund"
            return dialog_done(
                request,
                toast=f"{label} of {payment.format_amount(reversal.amount)} recorded",
                redirect_to=reverse("payments:detail", args=[payment.id]),
                paymentChanged={"id": payment.id},
            )
    label = "Refund" if payment.is_captured else "Void"
    context = {
        "nav": "payments",
        "form": form,
        "payment": payment,
        "action_label": label,
        "blocked_reason": blocked,
        "reversible_display": payment.format_amount(payment.amount_reversible),
    }
    return render_dialog(request, "payments/reverse.html", context, title=f"{label} payment")


# --- overview -------------------------------------------------------------------------------


@dashboard_view("payments.view_payment")
def overview(request: HttpRequest) -> HttpResponse:
    """Per currency (the main one first): volume, success rate, refunds and disputes of
    the payments made in the range, with a bar chart of each per day (one query on the
    daily totals, whatever the number of payments)."""
    form = OverviewRangeForm(request.GET or None)
    first_day, last_day = form.window()
    currencies = dashboard_selectors.overview(
        merchant=request.merchant, first_day=first_day, last_day=last_day
    )
    context = {
        "nav": "overview",
        "form": form,
        "first_day": first_day,
        "last_day": last_day,
        "days": (last_day - first_day).days + 1,
        "panels": [charts.currency_panel(c, first=first_day, last=last_day) for c in currencies],
        "chart_width": charts.WIDTH,
        "chart_height": charts.HEIGHT,
        "plot": charts.PLOT_FRAME,
    }
    return render(request, "payments/overview.html", context)
