"""Dashboard pages of payments: the list, a payment, the refund/void dialog, the overview.

HTMX: the list swaps only its results (`payments/list.html#results`); the payment page
re-fetches its live part (`payments/detail.html#live`) on `paymentChanged` and, while a
capture or reversal waits for the gateway, every 2 seconds. Every form also works as a
plain POST that redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from core.dashboard import actor_for, dashboard_view, found_or_404
from core.errors import DomainError
from core.forms import TokenForm, submit_once
from core.htmx import dialog_done, hx_events, render_dialog, render_page
from core.lists import list_context
from customers.selectors import is_email_blacklisted

from . import (
    approvals,
    charts,
    dashboard_selectors,
    dispute_ratio,
    exports,
    ratio_chart,
    selectors,
    services,
)
from .forms import CaptureForm, OverviewRangeForm, PaymentFilterForm, ReversalForm
from .models import Payment, Transaction

PAGE_SIZE = 25


def get_payment_or_404(request: HttpRequest, payment_id: str) -> Payment:
    return found_or_404(
        selectors.get_payment,
        merchant=request.merchant,
        payment_id=payment_id,
        approvals=True,
        marked=True,
    )


def reversal_blocked(payment: Payment) -> str | None:
    """The disabled Refund/Void button's reason, in the payment's own words."""
    why = payment.reversal_refusal()
    return f"Payment cannot be reversed: {why}." if why else None


# --- list ---------------------------------------------------------------------------------


def with_query(url: str, query: dict[str, str]) -> str:
    return f"{url}?{urlencode(query)}" if query else url


@dashboard_view("payments.view_payment")
def payment_list(request: HttpRequest) -> HttpResponse:
    form = PaymentFilterForm(request.GET, url=reverse("payments:list"))
    page, error = form.page(selectors.list_payments, merchant=request.merchant, limit=PAGE_SIZE)
    context = list_context(
        form,
        page,
        error,
        nav="payments",
        # The download carries the filters as typed (the export reads them the same way).
        export_url=with_query(reverse("payments:export"), form.query()),
    )
    return render_page(request, "payments/list.html", context, partial="results")


@dashboard_view("payments.view_payment")
def payment_export(request: HttpRequest) -> HttpResponse:
    """The list's rows as CSV, with the list's filters (the same form reads them),
    streamed. A query string the list would refuse is refused here too (400)."""
    form = PaymentFilterForm(request.GET, url=reverse("payments:list"))
    if not form.is_valid():
        return HttpResponse(form.error_summary(), status=400, content_type="text/plain")
    try:
        lines = exports.payment_csv_lines(merchant=request.merchant, **form.filters())
    except DomainError as refused:
        return HttpResponse(refused.message, status=400, content_type="text/plain")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="payments-{stamp}.csv"'
    return response


# --- one payment ---------------------------------------------------------------------------

# A pending operation older than this is late: the page says so (SPEC 8.1).
DELIVERY_LATE_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class AmountLine:
    label: str
    value: str
    emphasis: bool = False


def amount_lines(payment: Payment) -> list[AmountLine]:
    """The Amounts card in the words Stripe users know (SPEC 8.1): pending is shown once,
    beside what succeeded, never added to it."""
    fmt = payment.format_amount
    if payment.status == Payment.Status.FAILED:
        return [AmountLine("Declined", "Nothing was authorized")]
    lines = [AmountLine("Authorized", fmt(payment.amount))]
    if payment.capture_pending:
        lines.append(AmountLine("Capture pending at the gateway", fmt(payment.amount_captured)))
    elif payment.is_captured:
        lines.append(AmountLine("Captured", fmt(payment.amount_captured)))
    settled = payment.amount_reversed - payment.amount_reversal_pending
    if payment.is_voided:
        lines.append(AmountLine("Voided", fmt(settled)))
    elif payment.is_captured:
        lines.append(AmountLine("Refunded", fmt(settled)))
    if payment.amount_reversal_pending:
        lines.append(AmountLine("Pending at the gateway", fmt(payment.amount_reversal_pending)))
    if payment.amount_awaiting_approval:
        lines.append(AmountLine("Waiting for approval", fmt(payment.amount_awaiting_approval)))
    if payment.is_chargebacked or payment.amount_disputed:
        # The sum of its disputes not won (SPEC 10): back to 0 once they are won.
        lines.append(AmountLine("Disputed", fmt(payment.amount_disputed)))
    if payment.is_captured and not payment.is_voided:
        refundable = 0 if payment.reversal_refusal() else payment.amount_reversible
        lines.append(
            AmountLine(
                "Refundable",
                fmt(refundable),
                emphasis=refundable > 0 and not payment.chargeback_outstanding,
            )
        )
    return lines


def status_label(payment: Payment) -> str:
    """The badge: the display status, unless the gateway still owes an answer."""
    if payment.capture_pending:
        return "Capture pending"
    if payment.amount_reversal_pending:
        return "Void pending" if payment.is_voided else "Refund pending"
    if payment.amount_awaiting_approval:
        return "Refund awaiting approval"
    return payment.display_status_label


def outcome_toast(payment: Payment, operation: Transaction) -> tuple[str, str]:
    """What a person is told of a capture, refund or void they asked for: the outcome as
    it is (SPEC 8.1), and its level (success, info or error)."""
    name = operation.get_type_display()
    amount = payment.format_amount(operation.amount)
    if operation.is_external:
        return f"{name} recorded (not sent to the gateway)", "success"
    if operation.status == Transaction.Status.FAILED:
        return f"{name} of {amount} declined: {operation.failure_message}", "error"
    if operation.status == Transaction.Status.REQUIRES_APPROVAL:
        return f"{name} of {amount} is waiting for another admin's approval", "info"
    if operation.status == Transaction.Status.CANCELED:
        return f"{name} of {amount} canceled: it was not approved", "info"
    if operation.status == Transaction.Status.PENDING:
        return f"{name} of {amount} is pending: waiting for the gateway", "info"
    return f"{name} of {amount} succeeded", "success"


def payment_context(payment: Payment) -> dict:
    fmt = payment.format_amount
    transactions = list(payment.transactions.all())
    now = timezone.now()
    for txn in transactions:
        txn.amount_display = fmt(txn.amount)
        # Its approval, when it was held for one (loaded with the ledger: no query).
        txn.held = getattr(txn, "approval", None)
        # A held refund is sent when it is approved, not when it was asked.
        sent_at = txn.held.decided_at if txn.held and txn.held.decided_at else txn.created_at
        txn.is_late = (
            txn.status == Transaction.Status.PENDING and now - sent_at > DELIVERY_LATE_AFTER
        )
    pending = [t for t in transactions if t.status == Transaction.Status.PENDING]
    chargeback = next((t for t in transactions if t.type == Transaction.Type.CHARGEBACK), None)
    customer = payment.customer
    return {
        "nav": "payments",
        "payment": payment,
        "amount_display": fmt(payment.amount),
        "status_label": status_label(payment),
        "amounts": amount_lines(payment),
        "transactions": transactions,
        "chargeback_txn": chargeback,
        "customer": customer,
        "customer_blacklisted": bool(
            customer
            and is_email_blacklisted(
                customer.email, mark=getattr(payment, "customer_blacklist_mark", None)
            )
        ),
        # Only a chargeback opens a dispute (SPEC 10): no need to ask for them otherwise.
        "disputes": list(payment.disputes.all()) if payment.is_chargebacked else [],
        "reversal_label": "Refund" if payment.is_captured else "Void",
        "can_reverse": payment.status == Payment.Status.SUCCEEDED,
        "reversal_blocked": reversal_blocked(payment),
        "can_capture": payment.capture_refusal() is None,
        "can_record_chargeback": not payment.is_chargebacked
        and payment.chargeback_refusal() is None,
        # Poll while the gateway still owes an answer, so the page settles by itself.
        "polling": bool(pending),
        "pending_ids": ",".join(t.id for t in pending),
        "delivery_late": [t for t in pending if t.is_late],
    }


@dashboard_view("payments.view_payment")
def payment_detail(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_payment_or_404(request, payment_id)
    context = payment_context(payment)
    response = render_page(request, "payments/detail.html", context, partial="live")
    # The page polls while operations are pending, naming them: one that has finished
    # since is announced as it came out (a decline arriving later included).
    waited_for = set(filter(None, request.GET.get("waiting", "").split(",")))
    finished = [t for t in context["transactions"] if t.id in waited_for and t.status != "pending"]
    for operation in finished[-1:]:
        text, level = outcome_toast(payment, operation)
        hx_events(response, toast={"text": text, "level": level})
    return response


# --- refund / void and capture dialogs ---------------------------------------------------------


def _operation_done(request: HttpRequest, payment: Payment, operation_id: str) -> HttpResponse:
    operation = Transaction.objects.for_merchant(request.merchant).get(id=operation_id)
    text, level = outcome_toast(payment, operation)
    return dialog_done(
        request,
        toast=text,
        level=level,
        redirect_to=reverse("payments:detail", args=[payment.id]),
        paymentChanged={"id": payment.id},
    )


def _run_operation(
    request: HttpRequest,
    payment: Payment,
    form: TokenForm,
    *,
    blocked: str | None,
    purpose: str,
    busy: str,
    run: Callable[[], str],
) -> HttpResponse | None:
    """A refund/void or capture dialog's POST: unless `blocked` says why the payment
    cannot take it, `run` (the service call, answering the operation's id) runs once per
    form token, and the answer announces the operation as it came out. None: show the
    dialog again (errors, the refusal or the busy message are on the form)."""
    if request.method != "POST" or blocked is not None or not form.is_valid():
        return None
    purpose = f"{purpose}:{payment.id}"
    if (operation_id := submit_once(request, form, purpose=purpose, busy=busy, action=run)) is None:
        return None
    return _operation_done(request, payment, operation_id)


def reversal_form(request: HttpRequest, payment: Payment, data) -> ReversalForm:
    """The refund dialog's form, which knows the approval threshold of the payment's
    currency (SPEC 13: its summary says when a refund will wait for approval)."""
    threshold = approvals.threshold_for(merchant=request.merchant, currency=payment.currency)
    return ReversalForm(data, payment=payment, approval_threshold=threshold)


@dashboard_view("payments.view_payment", "payments.reverse_payment")
def payment_reverse(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The refund (or void) dialog: reverse once per form token."""
    payment = get_payment_or_404(request, payment_id)
    form = reversal_form(request, payment, request.POST or None)
    blocked = reversal_blocked(payment)
    done = _run_operation(
        request,
        payment,
        form,
        blocked=blocked,
        purpose="reverse",
        busy="This refund is already being submitted. Please wait.",
        run=lambda: (
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
    if done is not None:
        return done
    label = "Refund" if payment.is_captured else "Void"
    context = {
        "nav": "payments",
        "form": form,
        "payment": payment,
        "action_label": label,
        "blocked_reason": blocked,
        "reversible_display": payment.format_amount(payment.amount_reversible),
        "summary": form.summary(),
        "approval_threshold": form.approval_threshold,
        "dispute_warning": form.dispute_warning(),
    }
    return render_dialog(request, "payments/reverse.html", context, title=f"{label} payment")


@dashboard_view("payments.view_payment", "payments.reverse_payment")
def payment_reverse_summary(request: HttpRequest, payment_id: str) -> HttpResponse:
    """What the refund dialog will do with what is typed so far, in words (SPEC 2)."""
    payment = get_payment_or_404(request, payment_id)
    form = reversal_form(request, payment, request.GET)
    context = {
        "payment": payment,
        "form": form,
        "summary": form.summary(),
        "dispute_warning": form.dispute_warning(),
    }
    return render(request, "payments/reverse.html#summary", context)


@dashboard_view("payments.view_payment", "payments.capture_payment")
def payment_capture(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The capture dialog: all of the authorization, or a part of it, once."""
    payment = get_payment_or_404(request, payment_id)
    form = CaptureForm(request.POST or None, payment=payment)
    refusal = payment.capture_refusal()
    blocked = f"Payment cannot be captured: {refusal}." if refusal else None

    def capture() -> str:
        services.capture_payment(
            merchant=request.merchant,
            payment_id=payment.id,
            actor=actor_for(request),
            amount=form.cleaned_data["amount"],
        )
        return payment.transactions.filter(type=Transaction.Type.CAPTURE).latest("created_at").id

    done = _run_operation(
        request,
        payment,
        form,
        blocked=blocked,
        purpose="capture",
        busy="This capture is already being submitted. Please wait.",
        run=capture,
    )
    if done is not None:
        return done
    context = {
        "nav": "payments",
        "form": form,
        "payment": payment,
        "blocked_reason": blocked,
        "authorized_display": payment.amount_display,
    }
    return render_dialog(request, "payments/capture.html", context, title="Capture payment")


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
    ratio = dispute_ratio.monitor(merchant_id=request.merchant.id)
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
        "ratio": ratio,
        "ratio_chart": ratio_chart.ratio_chart(ratio),
    }
    return render(request, "payments/overview.html", context)
