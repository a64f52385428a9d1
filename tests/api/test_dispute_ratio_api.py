"""GET /api/v1/dispute-ratio: the monitor's figures for a month, scoped to the key's merchant."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from payments import dispute_ratio
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def get(client, key, query=""):
    return client.get(f"/api/v1/dispute-ratio{query}", headers={"Authorization": f"Bearer {key}"})


def test_the_current_month_by_default(client, merchant, api_key):
    PaymentFactory(merchant=merchant)
    PaymentFactory(merchant=merchant)
    dispute_ratio.count_dispute_opened(merchant_id=merchant.id, opened_at=timezone.now())

    answer = get(client, api_key[1])

    assert answer.status_code == 200
    body = answer.json()
    month = body["month"]
    assert month["month"] == f"{timezone.now():%Y-%m}"
    assert (month["disputes"], month["capturedPayments"], month["ratioPercent"]) == (1, 2, 50.0)
    assert month["status"] == "ok"  # 50%, but far below any scheme's minimum count
    assert {p["scheme"] for p in month["programmes"]} == {"visa", "mastercard"}
    visa = next(p for p in month["programmes"] if p["scheme"] == "visa")
    assert (visa["thresholdPercent"], visa["minimumDisputes"]) == (1.5, 1500)
    assert (visa["earlyWarningPercent"], visa["earlyWarningMinimumDisputes"]) == (1.0, 1000)
    assert len(body["previousMonths"]) == 6


def test_a_past_month_with_its_own_previous_months(client, merchant, api_key):
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=datetime(2025, 3, 1, tzinfo=UTC).date(),
        counts={"captured_payments": 5000, "disputes_opened": 120},
    )
    dispute_ratio.add(
        merchant_id=merchant.id,
        month=datetime(2025, 2, 1, tzinfo=UTC).date(),
        counts={"captured_payments": 6000},
    )

    body = get(client, api_key[1], "?month=2025-03").json()

    month = body["month"]
    assert (month["month"], month["isComplete"], month["ratioPercent"]) == ("2025-03", True, 2.4)
    assert month["status"] == "excessive"  # Mastercard: 120 of February's 6,000 = 2%
    ecp = next(p for p in month["programmes"] if p["scheme"] == "mastercard")
    assert (ecp["capturedPayments"], ecp["ratioPercent"], ecp["status"]) == (6000, 2.0, "excessive")
    assert [m["month"] for m in body["previousMonths"]][:2] == ["2025-02", "2025-01"]


@pytest.mark.parametrize(
    "month", ["2025-13", "2025-1", "march", "2025-03-01", "1999-12", "9999-01", ""]
)
def test_a_bad_month_is_a_validation_error_on_month(client, api_key, month):
    answer = get(client, api_key[1], f"?month={month}")

    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "validation_error"
    assert answer.json()["error"]["param"] == "month"


def test_another_merchants_figures_never_show(client, merchant, other_merchant, api_key):
    PaymentFactory(merchant=other_merchant)
    assert get(client, api_key[1]).json()["month"]["capturedPayments"] == 0


def test_a_key_is_required(client):
    assert client.get("/api/v1/dispute-ratio").status_code == 401
