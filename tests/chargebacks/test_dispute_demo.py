"""seed_demo leaves a dispute in every state, one of them overdue, and runs twice."""

from io import StringIO

import pytest
from django.core.management import call_command

from chargebacks.models import Dispute
from merchants.models import Merchant

pytestmark = pytest.mark.django_db


def test_seed_demo_has_a_dispute_in_every_state_and_one_overdue():
    call_command("seed_demo", payments=40, stdout=StringIO())
    merchant = Merchant.objects.get(name="Demo Store")
    disputes = Dispute.objects.for_merchant(merchant)
    assert set(disputes.values_list("status", flat=True)) == set(Dispute.Status.values)
    assert disputes.overdue().exists()
    won = disputes.get(status="won")
    assert won.payment.amount_disputed == 0
    assert won.payment.transactions.filter(type="chargeback_reversal").count() == 1

    before = sorted(disputes.values_list("id", "status"))
    call_command("seed_demo", payments=40, stdout=StringIO())
    assert sorted(disputes.values_list("id", "status")) == before
