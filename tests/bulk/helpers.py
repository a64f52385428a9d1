"""Refund files as an agent would upload them, and the ledger they should leave."""

from __future__ import annotations

import csv
import io

from payments.models import Transaction


def refund_file(rows, *, header=("payment_id", "amount", "reason", "note"), bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def refunds_of(payment) -> list[Transaction]:
    return list(
        Transaction.objects.filter(payment=payment, type=Transaction.Type.REFUND).order_by(
            "created_at"
        )
    )
