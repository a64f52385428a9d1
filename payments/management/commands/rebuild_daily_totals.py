"""Recompute the overview's daily totals from the payments (payments.rollup.rebuild)."""

from django.core.management.base import BaseCommand

from payments.rollup import rebuild


class Command(BaseCommand):
    help = (
        "Recompute the overview's daily totals from the payments and their ledger, for "
        "one merchant or all. Idempotent; run it after a deploy that adds the totals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant (its id)")

    def handle(self, *args, merchant=None, **options):
        rows = rebuild(merchant_id=merchant)
        self.stdout.write(f"Rebuilt {rows} daily total row(s).")
