"""Dashboard pages of chargebacks and disputes: the record-chargeback dialog, the
disputes queue, a dispute's page (evidence saved as typed, files uploaded with
progress) and its Submit, Accept and Record outcome dialogs. Every form also works
as a plain POST that redirects.

Roles: reading follows the payments (payments.view_payment); every change follows the
chargeback permission (chargebacks.add_chargeback), as recording one does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from core.dashboard import actor_for, dashboard_view, found_or_404, post_only
from core.forms import TokenForm, attempt, submit_once
from core.htmx import dialog_done, render_dialog, render_page, wants_partial
from core.lists import list_context
from payments.views import get_payment_or_404

from . import selectors, services
from .api import file_response
from .forms import (
    AcceptDisputeForm,
    DisputeFilterForm,
    DisputeOutcomeForm,
    EvidenceFileForm,
    EvidenceForm,
    RecordChargebackForm,
    SubmitEvidenceForm,
)
from .models import Dispute

VIEW = "payments.view_payment"
ACT = "chargebacks.add_chargeback"
PAGE_SIZE = 25


@dashboard_view(VIEW, ACT)
def record_chargeback(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_payment_or_404(request, payment_id)
    form = RecordChargebackForm(request.POST or None, payment=payment)
    if request.method == "POST" and form.is_valid():
        recorded = submit_once(
            request,
            form,
            purpose=f"chargeback:{payment.id}",
            busy="This chargeback is already being recorded. Please wait.",
            action=lambda: (
                services.record_chargeback(
                    merchant=request.merchant,
                    payment_id=payment.id,
                    actor=actor_for(request),
                    blacklist_customer=form.should_blacklist,
                    blacklist_reason=form.reason_for_blacklist,
                    customer_restrictions=form.customer_restrictions,
                    **form.dispute_terms,
                ).id
            ),
        )
        if recorded is not None:
            return dialog_done(
                request,
                toast="Chargeback recorded",
                redirect_to=reverse("payments:detail", args=[payment.id]),
                paymentChanged={"id": payment.id},
            )
    context = {
        "form": form,
        "payment": payment,
        "customer": payment.customer,
        "amount_display": payment.amount_display,
    }
    return render_dialog(request, "chargebacks/record.html", context, title="Record chargeback")


# --- the queue -----------------------------------------------------------------------------


@dashboard_view(VIEW)
def dispute_list(request: HttpRequest) -> HttpResponse:
    form = DisputeFilterForm(request.GET, url=reverse("chargebacks:disputes"))
    page, error = form.page(
        selectors.list_disputes, merchant=request.merchant, limit=PAGE_SIZE, queue=True
    )
    context = list_context(form, page, error, nav="disputes")
    return render_page(request, "chargebacks/disputes.html", context, partial="results")


# --- one dispute ---------------------------------------------------------------------------


def get_dispute_or_404(request: HttpRequest, dispute_id: str) -> Dispute:
    return found_or_404(services.get_dispute, merchant=request.merchant, dispute_id=dispute_id)


def dispute_context(request: HttpRequest, dispute: Dispute, **extra) -> dict:
    can_act = request.user.has_perm(ACT)
    return {
        "nav": "disputes",
        "dispute": dispute,
        "payment": dispute.payment,
        "files": list(dispute.files.all()),
        "captured_display": dispute.payment.format_amount(dispute.payment.amount_captured),
        "disputed_display": dispute.payment.format_amount(dispute.payment.amount_disputed),
        "evidence_form": extra.pop("evidence_form", None) or EvidenceForm(initial=dispute.evidence),
        "file_form": extra.pop("file_form", None) or EvidenceFileForm(),
        "can_edit": can_act and dispute.evidence_refusal() is None,
        "can_submit": can_act and dispute.submit_refusal() is None,
        "can_accept": can_act and dispute.accept_refusal() is None,
        "can_close": can_act
        and any(
            dispute.close_refusal(o) is None for o in (Dispute.Status.WON, Dispute.Status.LOST)
        ),
        **extra,
    }


@dashboard_view(VIEW)
def dispute_detail(request: HttpRequest, dispute_id: str) -> HttpResponse:
    dispute = get_dispute_or_404(request, dispute_id)
    return render_page(
        request, "chargebacks/dispute.html", dispute_context(request, dispute), partial="live"
    )


@dashboard_view(VIEW, ACT)
@post_only("chargebacks:dispute")
def dispute_evidence(request: HttpRequest, dispute_id: str) -> HttpResponse:
    """Save the evidence typed so far (a draft; HTMX posts it as you type). Answers the
    small "Saved" note to HTMX, the page again without JavaScript."""
    dispute = get_dispute_or_404(request, dispute_id)
    form = EvidenceForm(request.POST)
    staged = None
    if form.is_valid():
        staged = attempt(
            form,
            lambda: services.stage_evidence(
                merchant=request.merchant,
                actor=actor_for(request),
                dispute_id=dispute.id,
                evidence=form.evidence(),
            ),
        )
    saved = staged is not None
    if saved:
        dispute = staged
    if wants_partial(request):
        context = {"dispute": dispute, "saved": saved, "evidence_form": form}
        return render(request, "chargebacks/dispute.html#saved", context)
    if saved:
        messages.success(request, "Evidence saved")
        return redirect("chargebacks:dispute", dispute.id)
    context = dispute_context(request, dispute, evidence_form=form)
    return render(request, "chargebacks/dispute.html", context, status=400)


@dashboard_view(VIEW, ACT)
@post_only("chargebacks:dispute")
def dispute_file_upload(request: HttpRequest, dispute_id: str) -> HttpResponse:
    """One evidence file, checked by content. HTMX (with a progress bar): the files
    part of the page again; without JavaScript: the page."""
    dispute = get_dispute_or_404(request, dispute_id)
    form = EvidenceFileForm(request.POST, request.FILES)
    added = None
    if form.is_valid():
        added = attempt(
            form,
            lambda: services.add_evidence_file(
                merchant=request.merchant,
                actor=actor_for(request),
                dispute_id=dispute.id,
                upload=form.cleaned_data["file"],
            ),
        )
    dispute = get_dispute_or_404(request, dispute.id)
    context = dispute_context(
        request, dispute, file_form=EvidenceFileForm() if added else form, added=added
    )
    if wants_partial(request):
        return render(request, "chargebacks/dispute.html#files", context)
    if added:
        messages.success(request, f"{added.name} added")
        return redirect("chargebacks:dispute", dispute.id)
    return render(request, "chargebacks/dispute.html", context, status=400)


@dashboard_view(VIEW)
def dispute_file_download(request: HttpRequest, dispute_id: str, file_id: str) -> HttpResponse:
    """The file, to the merchant's own users (another merchant's: 404, as a missing one)."""
    evidence_file = found_or_404(
        selectors.get_dispute_file,
        merchant=request.merchant,
        dispute_id=dispute_id,
        file_id=file_id,
    )
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return file_response(evidence_file)


@dataclass(frozen=True)
class DisputeStep:
    """One of a dispute's transitions, as a dialog: chargebacks/dispute_dialog.html with
    the step's body (chargebacks/_dispute_<step>.html) and words."""

    title: str
    form_class: type[TokenForm]
    refusal: Callable[[Dispute], str | None]
    # The service call (given the request, the dispute and the valid form), and the toast
    # on the dispute it answers.
    run: Callable[[HttpRequest, Dispute, TokenForm], Dispute]
    toast: Callable[[Dispute], str]
    submit_style: str = "primary"


def _submit(request: HttpRequest, dispute: Dispute, form: TokenForm) -> Dispute:
    return services.stage_evidence(
        merchant=request.merchant,
        actor=actor_for(request),
        dispute_id=dispute.id,
        evidence={},
        submit=True,
    )


def _submitted(dispute: Dispute) -> str:
    return "Evidence submitted; the dispute is under review"


def _accept(request: HttpRequest, dispute: Dispute, form: TokenForm) -> Dispute:
    return services.accept_dispute(
        merchant=request.merchant, actor=actor_for(request), dispute_id=dispute.id
    )


def _accepted(dispute: Dispute) -> str:
    return f"Dispute accepted: {dispute.amount_display} will not come back"


def _close_refusal(dispute: Dispute) -> str | None:
    won, lost = (dispute.close_refusal(o) for o in (Dispute.Status.WON, Dispute.Status.LOST))
    return None if won is None or lost is None else won


def _close(request: HttpRequest, dispute: Dispute, form: TokenForm) -> Dispute:
    outcome = form.cleaned_data["outcome"]
    return services.close_dispute(
        merchant=request.merchant, actor=actor_for(request), dispute_id=dispute.id, outcome=outcome
    )


def _closed(dispute: Dispute) -> str:
    if dispute.status == Dispute.Status.WON:
        return f"Dispute won: {dispute.amount_display} given back"
    return f"Dispute lost: {dispute.amount_display} stays with the cardholder's bank"


# The URL names them: chargebacks:submit, chargebacks:accept, chargebacks:close.
DISPUTE_STEPS = {
    "submit": DisputeStep(
        "Submit evidence", SubmitEvidenceForm, Dispute.submit_refusal, _submit, _submitted
    ),
    "accept": DisputeStep(
        "Accept dispute", AcceptDisputeForm, Dispute.accept_refusal, _accept, _accepted, "danger"
    ),
    "close": DisputeStep("Record outcome", DisputeOutcomeForm, _close_refusal, _close, _closed),
}


@dashboard_view(VIEW, ACT)
def dispute_step(request: HttpRequest, dispute_id: str, *, step: str) -> HttpResponse:
    """The one dialog pattern, for a dispute's transition (`step`, from the URL): GET
    renders it; POST runs the service once under the form's token, then closes it (or
    shows the refusal)."""
    dialog = DISPUTE_STEPS[step]
    dispute = get_dispute_or_404(request, dispute_id)
    form = dialog.form_class(request.POST or None)
    blocked = dialog.refusal(dispute)
    if request.method == "POST" and blocked is None and form.is_valid():
        done = submit_once(
            request,
            form,
            purpose=f"dispute-{step}:{dispute.id}",
            busy="This is already being submitted. Please wait.",
            action=lambda: dialog.run(request, dispute, form).id,
        )
        if done is not None:
            dispute = get_dispute_or_404(request, dispute.id)
            return dialog_done(
                request,
                toast=dialog.toast(dispute),
                redirect_to=reverse("chargebacks:dispute", args=[dispute.id]),
                disputeChanged={"id": dispute.id},
            )
    context = {
        "nav": "disputes",
        "form": form,
        "dispute": dispute,
        "payment": dispute.payment,
        "blocked_reason": f"{blocked[0].upper()}{blocked[1:]}." if blocked else None,
        "action_url": request.path,
        "wrap": f"dispute-{step}-wrap",
        "body": f"chargebacks/_dispute_{step}.html",
        "submit_style": dialog.submit_style,
    }
    return render_dialog(request, "chargebacks/dispute_dialog.html", context, title=dialog.title)
