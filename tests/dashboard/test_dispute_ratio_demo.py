"""seed_demo's Northwind Outlet: a merchant whose dispute ratio is at an early warning."""

from datetime import UTC, datetime

import pytest

from demo.dispute_ratio import ADMIN_EMAIL, seed_dispute_ratio_demo
from merchants.models import User
from payments import dispute_ratio
from payments.models import Payment

pytestmark = pytest.mark.django_db


def test_northwind_is_at_an_early_warning_under_mastercard():
    now = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # even when its month has barely begun
    merchant = seed_dispute_ratio_demo(password="pw-demo-2026", now=now)

    report = dispute_ratio.monitor(merchant_id=merchant.id, now=now)
    assert report.month.status == "early_warning"
    mastercard = next(p for p in report.month.programmes if p.programme.scheme == "mastercard")
    assert (mastercard.disputes, mastercard.captured_payments) == (70, 2000)
    assert mastercard.status == "early_warning"

    count = Payment.objects.filter(merchant=merchant).count()
    seed_dispute_ratio_demo(password="pw-demo-2026", now=now)  # again: nothing added
    assert Payment.objects.filter(merchant=merchant).count() == count


def test_its_admin_sees_the_banner(client):
    merchant = seed_dispute_ratio_demo(password="pw-demo-2026")
    assert dispute_ratio.monitor(merchant_id=merchant.id).month.status == "early_warning"
    client.force_login(User.objects.get(email=ADMIN_EMAIL))

    html = client.get("/payments/").content.decode()

    assert "Dispute ratio early warning" in html
