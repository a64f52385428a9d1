"""Disputes opened count in the dispute ratio monitor's month, and the monthly totals
rebuilt from the payments and disputes equal the ones kept with each write."""

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from chargebacks import services
from chargebacks.models import Dispute
from chargebacks.ratio import rebuild_monthly_totals
from core.actors import SYSTEM
from core.errors import InvalidRequest
from payments import dispute_ratio
from payments.models import MonthlyTotals, Payment
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def totals(merchant) -> dict[date, tuple[int, int]]:
    return {
        row.month: (row.captured_payments, row.disputes_opened)
        for row in MonthlyTotals.objects.filter(merchant=merchant)
    }


def test_recording_a_chargeback_counts_a_dispute_opened(merchant):
    payment = PaymentFactory(merchant=merchant)
    services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    dispute = Dispute.objects.get()
    assert totals(merchant) == {dispute_ratio.month_of(dispute.created_at): (1, 1)}


def test_a_refused_dispute_counts_nothing(merchant):
    payment = PaymentFactory(merchant=merchant, capture=False)  # nothing captured
    with pytest.raises(InvalidRequest):
        services.open_dispute(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    assert totals(merchant) == {}


def test_the_rebuild_equals_the_counters_kept_with_each_write(merchant, other_merchant):
    for shop in (merchant, other_merchant):
        disputed = PaymentFactory(merchant=shop)
        PaymentFactory(merchant=shop)
        PaymentFactory(merchant=shop, capture=False)
        PaymentFactory(merchant=shop, amount=666)  # declined
        services.open_dispute(merchant=shop, payment_id=disputed.id, actor=SYSTEM)
    kept = {m.id: totals(m) for m in (merchant, other_merchant)}
    MonthlyTotals.objects.update(captured_payments=99, disputes_opened=99)  # drifted

    rows = rebuild_monthly_totals()

    assert rows == 2
    assert {m.id: totals(m) for m in (merchant, other_merchant)} == kept


def test_the_rebuild_counts_by_utc_month_at_the_boundary(merchant):
    october, november = PaymentFactory(merchant=merchant), PaymentFactory(merchant=merchant)
    last_second = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    first_second = datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC)
    Payment.objects.filter(id=october.id).update(captured_at=last_second)
    Payment.objects.filter(id=november.id).update(captured_at=first_second)
    for payment, opened in ((october, last_second), (november, first_second)):
        services.open_dispute(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
        Dispute.objects.filter(payment=payment).update(created_at=opened)

    call_command("rebuild_monthly_totals", merchant=merchant.id, stdout=StringIO())

    assert totals(merchant) == {date(2026, 10, 1): (1, 1), date(2026, 11, 1): (1, 1)}
