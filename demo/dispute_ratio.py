"""Demo data for the dispute ratio monitor (SPEC 10): a second merchant, "Northwind
Outlet", whose Mastercard ratio is at an early warning, so its merchant admin
(risk@demo.test) sees the banner and the overview's ratio card in colour.

Last month it captured LAST_MONTH_PAYMENTS payments; this month the cardholders' banks
opened DISPUTES disputes on some of them (Mastercard's programme counts them against
last month's payments): 70 of 2,000 is 3.5%, over the early warning's 1% and 67
chargebacks, under the excessive 100 chargebacks (the count decides). This month's own
payments come in at last month's pace. Kept small, so seeding stays a few seconds.

The many plain payments are inserted in bulk (with their ledger entries), the disputes
go through chargebacks.services.open_dispute; the overview's and the monitor's totals
are then rebuilt from the rows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from chargebacks import services as dispute_services
from chargebacks.models import Dispute
from chargebacks.ratio import rebuild_monthly_totals
from core.actors import SYSTEM
from merchants import roles
from merchants.models import Merchant, User
from payments import dispute_ratio, rollup
from payments.models import Payment, Transaction, new_payment_id

MERCHANT_NAME = "Northwind Outlet"
ADMIN_EMAIL = "risk@demo.test"
LAST_MONTH_PAYMENTS = 2_000
DISPUTES = 70
AMOUNTS = [1999, 2500, 4900, 9900, 12000]
REASONS = ["fraudulent", "product_not_received", "product_unacceptable", "general"]


def seed_dispute_ratio_demo(*, password: str, now: datetime | None = None) -> Merchant:
    """Create Northwind Outlet, its admin and its payments and disputes, once (a merchant
    that already has payments is left as it is)."""
    now = now or timezone.now()
    merchant, _ = Merchant.objects.get_or_create(name=MERCHANT_NAME)
    user = User.objects.filter(email__iexact=ADMIN_EMAIL).first() or User(email=ADMIN_EMAIL)
    user.first_name, user.last_name, user.merchant = "Riley", "Risk", merchant
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=roles.MERCHANT_ADMIN)])
    if Payment.objects.filter(merchant=merchant).exists():
        return merchant

    rng = random.Random("northwind")
    this_month = dispute_ratio.month_of(now)
    last_start, last_end = dispute_ratio.month_bounds(dispute_ratio.add_months(this_month, -1))
    this_start, _ = dispute_ratio.month_bounds(this_month)
    last_month = _spread(rng, LAST_MONTH_PAYMENTS, last_start, last_end)
    pace = LAST_MONTH_PAYMENTS / (last_end - last_start).total_seconds()
    so_far = int(pace * (now - this_start).total_seconds())
    this_month_times = _spread(rng, so_far, this_start, now - timedelta(minutes=1))
    with transaction.atomic():
        payments = _insert_captured(merchant, rng, last_month + this_month_times)
        opened_at = _spread(rng, DISPUTES, this_start, now)
        for payment, moment in zip(
            rng.sample(payments[: len(last_month)], DISPUTES), opened_at, strict=True
        ):
            dispute = dispute_services.open_dispute(
                merchant=merchant,
                payment_id=payment.id,
                actor=SYSTEM,
                network="mastercard",
                reason_code=rng.choice(["4837", "4853", "4855"]),
                reason_category=rng.choice(REASONS),
            )
            # Opened this month, spread over its days so far (the rebuild counts them).
            Dispute.objects.filter(id=dispute.id).update(created_at=moment)
        rollup.rebuild(merchant_id=merchant.id)
        rebuild_monthly_totals(merchant_id=merchant.id)
    return merchant


def _spread(rng: random.Random, count: int, start: datetime, end: datetime) -> list[datetime]:
    if count <= 0 or end <= start:
        return []
    seconds = int((end - start).total_seconds())
    return sorted(start + timedelta(seconds=rng.randrange(seconds)) for _ in range(count))


def _insert_captured(merchant, rng, times: list[datetime]) -> list[Payment]:
    """Captured USD payments at the given times, with their authorization and capture."""
    payments = []
    for n, moment in enumerate(times):
        amount = rng.choice(AMOUNTS)
        payments.append(
            Payment(
                id=new_payment_id(),
                merchant=merchant,
                order_id=f"NW-{20000 + n}",
                amount=amount,
                currency="USD",
                status=Payment.Status.SUCCEEDED,
                processor="sandbox",
                is_captured=True,
                amount_captured=amount,
                captured_at=moment,
                payment_method={"type": "card", "brand": "mastercard", "last4": "4444"},
            )
        )
    Payment.objects.bulk_create(payments, batch_size=1000)
    ledger = [
        Transaction(
            merchant=merchant,
            payment=payment,
            type=kind,
            amount=payment.amount,
            status=Transaction.Status.SUCCEEDED,
            order_id=payment.order_id,
            processed_at=payment.captured_at,
        )
        for payment in payments
        for kind in (Transaction.Type.AUTHORIZATION, Transaction.Type.CAPTURE)
    ]
    Transaction.objects.bulk_create(ledger, batch_size=2000)
    # auto_now_add stamped them now: back to their own time, a day at a time.
    by_day: dict = {}
    for payment in payments:
        by_day.setdefault(payment.captured_at.date(), []).append(payment)
    for day_payments in by_day.values():
        ids = [p.id for p in day_payments]
        moment = day_payments[0].captured_at
        Payment.objects.filter(id__in=ids).update(created_at=moment)
        Transaction.objects.filter(payment_id__in=ids).update(created_at=moment)
    return payments
