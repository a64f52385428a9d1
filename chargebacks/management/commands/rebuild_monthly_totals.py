"""Recompute the dispute ratio monitor's monthly totals (chargebacks.ratio)."""

from chargebacks.ratio import rebuild_monthly_totals
from core.commands import RebuildTotalsCommand


class Command(RebuildTotalsCommand):
    help = (
        "Recompute the dispute ratio monitor's monthly totals (payments captured, disputes "
        "opened) from the payments and disputes, for one merchant or all. Idempotent; run "
        "it after a deploy that adds the totals."
    )
    totals = "monthly total"

    def rebuild(self, *, merchant_id):
        return rebuild_monthly_totals(merchant_id=merchant_id)
