"""Dashboard pages of bulk refunds: upload a CSV (the batches list), its dry run and
confirm, the progress bar (an HTMX partial polled while the job runs), cancel, and the
results as CSV. For whoever may refund (payments.reverse_payment)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render

from core.dashboard import actor_for, dashboard_view, found_or_404, post_only
from core.errors import DomainError
from core.forms import add_refusal, submit_once

from . import selectors, services
from .files import MAX_FILE_BYTES
from .forms import ConfirmForm, UploadForm
from .models import BatchRow, RefundBatch

PERMISSIONS = ("payments.view_payment", "payments.reverse_payment")


def get_batch_or_404(request: HttpRequest, batch_id: str) -> RefundBatch:
    return found_or_404(selectors.get_batch, merchant=request.merchant, batch_id=batch_id)


@dashboard_view(*PERMISSIONS)
def batch_list(request: HttpRequest) -> HttpResponse:
    """Recent batches, and the upload form: a good file becomes a dry run to confirm."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = services.create_batch(
                merchant=request.merchant,
                actor=actor_for(request),
                filename=upload.name or "",
                # One byte more than allowed is enough to refuse a file as too large.
                content=upload.read(MAX_FILE_BYTES + 1),
            )
        except DomainError as refused:
            add_refusal(form, refused)
        else:
            return redirect("bulk:detail", batch_id=batch.id)
    context = {
        "nav": "payments",
        "form": form,
        "batches": selectors.recent_batches(merchant=request.merchant),
    }
    return render(request, "bulk/list.html", context, status=400 if form.errors else 200)


def _detail_context(request: HttpRequest, batch: RefundBatch, **extra) -> dict:
    draft = batch.state == RefundBatch.State.DRAFT
    return {
        "nav": "payments",
        "batch": batch,
        "progress": selectors.progress(batch),
        "refused_rows": selectors.rows_to_show(
            batch, outcome=BatchRow.Outcome.REFUSED if draft else BatchRow.Outcome.FAILED
        ),
        "rows": selectors.rows_to_show(batch, limit=100),
        "confirm_form": extra.pop("confirm_form", None) or ConfirmForm(),
        **extra,
    }


@dashboard_view(*PERMISSIONS)
def batch_detail(request: HttpRequest, batch_id: str) -> HttpResponse:
    batch = get_batch_or_404(request, batch_id)
    return render(request, "bulk/detail.html", _detail_context(request, batch))


@dashboard_view(*PERMISSIONS)
def batch_progress(request: HttpRequest, batch_id: str) -> HttpResponse:
    """The progress bar alone: polled every second while the batch runs; the answer
    for a finished batch has no trigger, so the polling stops by itself."""
    batch = get_batch_or_404(request, batch_id)
    context = {"batch": batch, "progress": selectors.progress(batch)}
    return render(request, "bulk/detail.html#progress", context)


@dashboard_view(*PERMISSIONS)
@post_only("bulk:detail")
def batch_confirm(request: HttpRequest, batch_id: str) -> HttpResponse:
    batch = get_batch_or_404(request, batch_id)
    form = ConfirmForm(request.POST)
    if form.is_valid():
        confirmed = submit_once(
            request,
            form,
            purpose=f"bulk-confirm:{batch.id}",
            busy="This batch is already being confirmed. Please wait.",
            action=lambda: (
                services.confirm_batch(
                    merchant=request.merchant, batch_id=batch.id, actor=actor_for(request)
                ).id
            ),
        )
        if confirmed is not None:
            messages.success(request, "Confirmed: the refunds are being made.")
            return redirect("bulk:detail", batch_id=batch.id)
    batch.refresh_from_db()
    context = _detail_context(request, batch, confirm_form=form)
    return render(request, "bulk/detail.html", context, status=400)


@dashboard_view(*PERMISSIONS)
def batch_cancel(request: HttpRequest, batch_id: str) -> HttpResponse:
    batch = get_batch_or_404(request, batch_id)
    if request.method == "POST":
        try:
            services.cancel_batch(
                merchant=request.merchant, batch_id=batch.id, actor=actor_for(request)
            )
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, "Canceled: the rows not started yet will not be refunded.")
    return redirect("bulk:detail", batch_id=batch.id)


@dashboard_view(*PERMISSIONS)
def batch_results(request: HttpRequest, batch_id: str) -> HttpResponse:
    """Every row with its outcome (the dry run's verdicts before confirming), streamed."""
    batch = get_batch_or_404(request, batch_id)
    response = StreamingHttpResponse(
        selectors.result_lines(batch), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{batch.id}-results.csv"'
    return response
