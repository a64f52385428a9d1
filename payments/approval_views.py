"""Dashboard pages of four-eyes refund approval (SPEC 13), for merchant admins: the
Approvals queue, its Approve and Reject dialogs, and the approval thresholds."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from core.dashboard import actor_for, dashboard_view, found_or_404
from core.errors import DomainError
from core.forms import add_refusal, submit_once
from core.htmx import dialog_done, render_dialog, render_page

from . import approvals, selectors
from .forms import ApprovalThresholdForm, RefundApproveForm, RefundRejectForm
from .models import ApprovalThreshold, RefundApproval

APPROVE = RefundApproval.DECIDE_PERMISSION


def expires_in(approval: RefundApproval) -> str:
    """ "in 2 days 5 h", "in 40 min", or "now" (the sweeper has not run yet)."""
    left = approval.expires_at - timezone.now()
    minutes = int(left.total_seconds() // 60)
    if minutes <= 0:
        return "now"
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"in {days} day{'s' if days > 1 else ''} {hours} h"
    if hours:
        return f"in {hours} h {mins} min"
    return f"in {mins} min"


def _described(approval: RefundApproval, user) -> RefundApproval:
    payment, refund = approval.payment, approval.refund
    approval.amount_display = payment.format_amount(refund.amount)
    approval.captured_display = payment.format_amount(payment.amount_captured)
    approval.expires_in = expires_in(approval)
    approval.asked_by_you = refund.created_by_id == user.pk
    return approval


@dashboard_view(APPROVE)
def approval_queue(request: HttpRequest) -> HttpResponse:
    waiting = selectors.waiting_refund_approvals(merchant=request.merchant)
    context = {
        "nav": "approvals",
        "approvals": [_described(a, request.user) for a in waiting],
        "total": selectors.count_waiting_refund_approvals(merchant=request.merchant),
        "limit": selectors.APPROVAL_QUEUE_LIMIT,
    }
    return render_page(request, "payments/approvals.html", context, partial="queue")


def _approval_or_404(request: HttpRequest, refund_id: str) -> RefundApproval:
    approval = found_or_404(
        selectors.get_refund_approval, merchant=request.merchant, refund_id=refund_id
    )
    return _described(approval, request.user)


@dashboard_view("payments.view_payment", APPROVE)
def approval_decision(request: HttpRequest, refund_id: str, decision: str) -> HttpResponse:
    """The Approve or Reject dialog of a held refund (`decision`, "approve" or "reject",
    set by the URL): decide once per form token, a rejection with an optional note.
    When the model says why this person cannot decide now, the dialog shows it instead
    of a form (the service decides again under the lock)."""
    approve = decision == "approve"
    approval = _approval_or_404(request, refund_id)
    form = (RefundApproveForm if approve else RefundRejectForm)(request.POST or None)
    refusal = approval.waiting_refusal(timezone.now()) or approval.decider_refusal(request.user)

    def decide() -> str:
        who = {
            "merchant": request.merchant,
            "transaction_id": approval.refund_id,
            "actor": actor_for(request),
        }
        if approve:
            return approvals.approve_refund(**who).id
        return approvals.reject_refund(**who, note=form.cleaned_data["note"]).id

    if request.method == "POST" and refusal is None and form.is_valid():
        purpose = f"{decision}:{approval.refund_id}"
        if submit_once(request, form, purpose=purpose, action=decide) is not None:
            outcome = (
                "approved and sent to the gateway"
                if approve
                else "rejected; the amount is refundable again"
            )
            return dialog_done(
                request,
                toast=f"Refund of {approval.amount_display} {outcome}",
                level="success",
                redirect_to=reverse("payments:approvals"),
                approvalsChanged=True,
                paymentChanged={"id": approval.payment_id},
            )
    context = {
        "nav": "approvals",
        "decision": decision,
        "approval": approval,
        "form": form,
        "refusal": f"{refusal}." if refusal else None,
    }
    title = "Approve refund" if approve else "Reject refund"
    return render_dialog(request, "payments/approval_decision.html", context, title=title)


@dashboard_view("payments.view_approvalthreshold", "payments.change_approvalthreshold")
def approval_thresholds(request: HttpRequest) -> HttpResponse:
    """The merchant's approval thresholds, one per currency: set, change or remove."""
    form = ApprovalThresholdForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        currency, amount = form.cleaned_data["currency"], form.cleaned_data["minor_amount"]
        try:
            threshold = approvals.set_threshold(
                merchant=request.merchant,
                currency=currency,
                amount=amount,
                actor=actor_for(request),
            )
        except DomainError as refused:
            add_refusal(form, refused)
        else:
            if threshold is None:
                text = f"Refunds in {currency} no longer need approval"
            else:
                text = (
                    f"Refunds in {currency} over {threshold.amount_display} now need another "
                    "admin's approval"
                )
            messages.success(request, text)
            return redirect("payments:approval_thresholds")
    thresholds = ApprovalThreshold.objects.for_merchant(request.merchant).select_related(
        "created_by"
    )
    context = {"nav": "approvals", "form": form, "thresholds": thresholds}
    return render_page(request, "payments/approval_thresholds.html", context)
