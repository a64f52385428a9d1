"""Recompute the overview's daily totals from the payments (payments.rollup.rebuild)."""

from core.commands import RebuildTotalsCommand
from payments import rollup


class Command(RebuildTotalsCommand):
    help = (
        "Recompute the overview's daily totals from the payments and their ledger, for "
        "one merchant or all. Idempotent; run it after a deploy that adds the totals."
    )
    totals = "daily total"

    def rebuild(self, *, merchant_id):
        return rollup.rebuild(merchant_id=merchant_id)
