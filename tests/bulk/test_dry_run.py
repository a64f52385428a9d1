"""The dry run: each row's verdict and the totals per currency, nothing moved."""

import pytest

from bulk import services
from bulk.models import BatchRow, RefundBatch
from chargebacks.services import record_chargeback
from core.actors import SYSTEM, Actor
from payments import services as payment_services
from payments.gateways import sandbox
from payments.models import Payment, Transaction
from tests.bulk.helpers import refund_file
from tests.factories import PaymentFactory, charge_back

pytestmark = pytest.mark.django_db

OK = "pending"
REFUSED = "refused"


def mixed_file(merchant, other_merchant):
    """1,000 rows, good and bad mixed, with the verdict each must get: (rows, expected),
    expected a list of (outcome, start of the error)."""
    usd = [PaymentFactory(merchant=merchant, amount=2500) for _ in range(20)]
    eur = [PaymentFactory(merchant=merchant, amount=1000, currency="EUR") for _ in range(5)]
    jpy = [PaymentFactory(merchant=merchant, amount=5000, currency="JPY") for _ in range(2)]
    spare = PaymentFactory(merchant=merchant, amount=2500)
    foreign = PaymentFactory(merchant=other_merchant)
    failed = PaymentFactory(merchant=merchant, amount=sandbox.DECLINE_AMOUNT)
    assert failed.status == Payment.Status.FAILED
    voided = PaymentFactory(merchant=merchant, capture=False)
    payment_services.reverse_payment(merchant=merchant, payment_id=voided.id, actor=SYSTEM)
    refunded = PaymentFactory(merchant=merchant)
    payment_services.reverse_payment(
        merchant=merchant, payment_id=refunded.id, actor=SYSTEM, is_external=True
    )
    uncaptured = PaymentFactory(merchant=merchant, capture=False)
    charged_back = PaymentFactory(merchant=merchant)
    record_chargeback(merchant=merchant, payment_id=charged_back.id, actor=SYSTEM)

    rows, expected = [], []

    def add(count, row, outcome, error=""):
        rows.extend([row] * count)
        expected.extend([(outcome, error)] * count)

    for payment in usd:  # 25 x $1.00 fill $25.00; one cent more is too much
        add(25, [payment.id, "1.00", "", ""], OK)
        add(1, [payment.id, "0.01", "", ""], REFUSED, "Together with the same payment is in rows")
    for payment in eur:  # empty: everything refundable; then nothing is left
        add(1, [payment.id, "", "duplicate", ""], OK)
        add(1, [payment.id, "", "", ""], REFUSED, "Nothing left to refund")
    add(1, [jpy[0].id, "5000", "", ""], OK)
    add(1, [jpy[1].id, "5000", "", ""], OK)
    add(1, [jpy[0].id, "5000.5", "", ""], REFUSED, "Bad amount '5000.5': JPY has no decimal")
    add(1, [jpy[1].id, "6000", "", ""], REFUSED, "Amount over refundable: at most ¥5,000")
    add(100, ["pay_doesnotexist", "1.00", "", ""], REFUSED, "Unknown payment")
    add(50, [foreign.id, "1.00", "", ""], REFUSED, "Unknown payment")
    add(20, [failed.id, "1.00", "", ""], REFUSED, "Not refundable: the payment failed")
    add(20, [voided.id, "", "", ""], REFUSED, "Not refundable: it is already voided")
    add(20, [refunded.id, "", "", ""], REFUSED, "Not refundable: it is already fully refunded")
    add(20, [uncaptured.id, "", "", ""], REFUSED, "Not refundable: it is not captured")
    add(10, [charged_back.id, "1.00", "", ""], REFUSED, "Not refundable here: it was charged back")
    for text in ("1,00", "-5", "abc", "0", "1.001"):
        add(10, [spare.id, text, "", ""], REFUSED, f"Bad amount{' ' if text != '0' else ''}")
    add(20, [spare.id, "1.00", "angry", ""], REFUSED, "Bad reason 'angry'")
    add(10, [spare.id, "1.00", "other", ""], REFUSED, "A note is required")
    add(10, ["", "1.00", "", ""], REFUSED, "No payment id")
    add(135, [spare.id, "0.10", "Fraudulent", "=HYPERLINK(1)"], OK)
    add(1, [spare.id, "24.00", "", ""], REFUSED, "Together with the same payment")
    return rows, expected


def test_a_thousand_mixed_rows_get_exact_verdicts_and_totals(merchant, other_merchant, agent):
    rows, expected = mixed_file(merchant, other_merchant)
    assert len(rows) == 1000
    ledger_before = Transaction.objects.count()

    batch = services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="mixed.csv",
        content=refund_file(rows),
    )  # fmt: skip

    stored = list(batch.rows.order_by("number"))
    assert [r.number for r in stored] == list(range(1, 1001))
    got = [(r.outcome, r.error) for r in stored]
    mismatches = [
        (number, want, have)
        for number, (want, have) in enumerate(zip(expected, got, strict=True), start=1)
        if want[0] != have[0] or not have[1].startswith(want[1])
    ]
    assert mismatches == []
    assert batch.state == RefundBatch.State.DRAFT
    assert (batch.rows_total, batch.rows_ok) == (1000, 642)
    assert batch.totals == {"EUR": 5000, "JPY": 10000, "USD": 20 * 2500 + 135 * 10}
    assert [text for _, text in batch.totals_display()] == ["€50.00", "¥10,000", "$513.50"]
    # Nothing moved.
    assert Transaction.objects.count() == ledger_before
    fraud = stored[-2]
    assert (fraud.reason, fraud.note, fraud.amount) == ("fraudulent", "=HYPERLINK(1)", 10)
    eur_all = stored[520]
    assert (eur_all.amount, eur_all.planned_amount, eur_all.reason) == (None, 1000, "duplicate")


def test_an_empty_amount_plans_what_is_left_after_the_rows_before_it(merchant, agent):
    payment = PaymentFactory(merchant=merchant, amount=5000)
    payment_services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=1000
    )
    content = refund_file([[payment.id, "15.00", "", ""], [payment.id, "", "", ""]])

    batch = services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="f.csv", content=content
    )

    assert [(r.outcome, r.planned_amount) for r in batch.rows.order_by("number")] == [
        (BatchRow.Outcome.PENDING, 1500),
        (BatchRow.Outcome.PENDING, 2500),
    ]
    assert batch.totals == {"USD": 4000}


def test_a_charged_back_payment_is_left_out_unless_its_dispute_was_won(merchant, agent):
    """Payment.chargeback_outstanding: while the customer keeps the money through a
    chargeback a bulk refund would return it twice; after a won dispute it came back."""
    verdicts = {}
    for outcome in ("won", "lost"):
        payment = PaymentFactory(merchant=merchant, amount=2500)
        charge_back(payment, outcome=outcome)
        verdicts[outcome] = [payment.id, "1.00", "", ""]

    batch = services.create_batch(
        merchant=merchant,
        actor=Actor(user=agent),
        filename="disputed.csv",
        content=refund_file([verdicts["won"], verdicts["lost"]]),
    )

    won, lost = batch.rows.order_by("number")
    assert (won.outcome, won.amount) == (OK, 100)
    assert lost.outcome == REFUSED and lost.error.startswith("Not refundable here: it was charged")
