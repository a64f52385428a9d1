"""Management command bases shared by the apps."""

from django.core.management.base import BaseCommand


class RebuildTotalsCommand(BaseCommand):
    """Recompute stored totals from the rows they count, for one merchant (`--merchant`,
    its id) or all, and say how many rows were written. A subclass names its totals
    ("daily total") and calls its app's idempotent rebuild in `rebuild`."""

    totals: str

    def rebuild(self, *, merchant_id: int | None) -> int:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant (its id)")

    def handle(self, *args, merchant=None, **options):
        rows = self.rebuild(merchant_id=merchant)
        self.stdout.write(f"Rebuilt {rows} {self.totals} row(s).")
