"""Create a merchant's API key and print its secret, which is shown this once only."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from merchants.models import ApiKey, Merchant
from merchants.services import create_api_key


class Command(BaseCommand):
    help = "Create an API key for a merchant (by name or id) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="The merchant's name or id")
        parser.add_argument("--name", default="", help="A label for the key")
        parser.add_argument("--mode", choices=ApiKey.Mode.values, default=ApiKey.Mode.TEST)

    def handle(self, *args, merchant: str, name: str, mode: str, **options):
        found = Merchant.objects.filter(name=merchant).first()
        if found is None and merchant.isdigit():
            found = Merchant.objects.filter(pk=int(merchant)).first()
        if found is None:
            raise CommandError(f"No merchant named or numbered {merchant!r}")
        try:
            key, secret = create_api_key(merchant=found, name=name, mode=mode)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stderr.write(
            f"Created {key.mode} key {key.id} for {found.name}. "
            "Store the secret now: it is never shown again."
        )
        self.stdout.write(secret)
