"""Recompute the dispute ratio monitor's monthly totals (chargebacks.ratio)."""

from django.core.management.base import BaseCommand

from chargebacks.ratio import rebuild_monthly_totals


class Command(BaseCommand):
    help = (
        "Recompute the dispute ratio monitor's monthly totals (payments captured, disputes "
        "opened) from the payments and disputes, for one merchant or all. Idempotent; run "
        "it after a deploy that adds the totals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant (its id)")

    def handle(self, *args, merchant=None, **options):
        rows = rebuild_monthly_totals(merchant_id=merchant)
        self.stdout.write(f"Rebuilt {rows} monthly total row(s).")
