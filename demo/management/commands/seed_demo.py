"""Demo data: `python manage.py seed_demo [--password PW] [--api-key KEY] [--payments N]`.

Safe to run again: users, key and customers are reused, and payments are only added
up to N.
"""

import random
from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.test.utils import override_settings
from django.utils import timezone

from core.actors import Actor
from core.errors import DomainError
from customers.models import Customer
from customers.services import get_or_create_customer
from demo.customers import seed_customer_demo
from demo.dispute_ratio import ADMIN_EMAIL as RATIO_ADMIN_EMAIL
from demo.dispute_ratio import MERCHANT_NAME as RATIO_MERCHANT_NAME
from demo.dispute_ratio import seed_dispute_ratio_demo
from demo.disputes import seed_dispute_demo
from merchants import roles
from merchants.models import ApiKey, Merchant, User, hash_api_key
from merchants.services import create_api_key
from payments import rollup
from payments import services as payment_services
from payments.gateways import get_gateway
from payments.models import Payment, Transaction

DEFAULT_PASSWORD = "demo-password-2026"
MERCHANT_NAME = "Demo Store"
USERS = [
    ("agent@demo.test", "Avery", "Agent", roles.SUPPORT_AGENT, False),
    ("admin@demo.test", "Morgan", "Admin", roles.MERCHANT_ADMIN, False),
    ("platform@demo.test", "Pat", "Platform", roles.PLATFORM_ADMIN, True),
]
FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivo", "Jun"]
LAST_NAMES = ["Novak", "Okafor", "Silva", "Tanaka", "Weber", "Kowalski", "Moreau", "Haddad"]
CURRENCIES = ["USD"] * 6 + ["EUR"] * 2 + ["JPY", "KWD"]
# The outcome each demo payment is steered to, so every display status is present.
PLANS = ["captured"] * 5 + ["authorized", "partially_refunded", "refunded", "voided", "failed"]


class Command(BaseCommand):
    help = "Create the Demo Store merchant, its users, an API key and demo payments."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None, help=f"default: {DEFAULT_PASSWORD}")
        parser.add_argument("--api-key", default=None, help="use this secret (sk_test_…)")
        parser.add_argument("--payments", type=int, default=200)

    def handle(self, *args, password, api_key, payments, **options):
        if payments < 0:
            raise CommandError("--payments must be 0 or more")
        password = password or DEFAULT_PASSWORD
        merchant, _ = Merchant.objects.get_or_create(name=MERCHANT_NAME)
        users = self._users(merchant, password)
        self._api_key(merchant, api_key, users["admin@demo.test"])
        # Seeding talks to the sandbox gateway without its simulated latency.
        with override_settings(PAYMENT_GATEWAY="sandbox", SANDBOX_GATEWAY_LATENCY_MS=0):
            get_gateway.cache_clear()
            try:
                created = self._payments(merchant, payments, users["agent@demo.test"])
                self._customer_demo(merchant, users)
                seed_dispute_demo(
                    merchant=merchant,
                    agent_user=users["agent@demo.test"],
                    admin_user=users["admin@demo.test"],
                )
                self._customers_since_first_payment(merchant)
                # The payments were moved back in time after they were counted: recount.
                rollup.rebuild(merchant_id=merchant.id)
                seed_dispute_ratio_demo(password=password)
            finally:
                get_gateway.cache_clear()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo Store ready: {Payment.objects.filter(merchant=merchant).count()} payments "
                f"({created} new)."
            )
        )
        self.stdout.write(
            "Sign in with agent@demo.test, admin@demo.test or platform@demo.test, "
            f"password: {password}"
        )
        self.stdout.write(
            f"{RATIO_MERCHANT_NAME} (dispute ratio at an early warning): sign in with "
            f"{RATIO_ADMIN_EMAIL}, same password."
        )

    def _users(self, merchant, password) -> dict[str, User]:
        users = {}
        for email, first, last, role, is_staff in USERS:
            user = User.objects.filter(email__iexact=email).first() or User(email=email)
            user.first_name, user.last_name = first, last
            user.merchant = None if is_staff else merchant
            user.is_staff = is_staff
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            users[email] = user
        return users

    def _api_key(self, merchant, raw_key, admin) -> None:
        if raw_key:
            if ApiKey.objects.filter(key_hash=hash_api_key(raw_key)).exists():
                self.stdout.write(f"API key {raw_key[:12]}… already exists.")
                return
            try:
                create_api_key(
                    merchant=merchant, name="Demo key", raw_key=raw_key, created_by=admin
                )
            except DomainError as error:
                raise CommandError(error.message) from error
            self.stdout.write(f"API key: {raw_key}")
            return
        existing = (
            ApiKey.objects.for_merchant(merchant)
            .filter(name="Demo key", revoked_at__isnull=True)
            .first()
        )
        if existing:
            self.stdout.write(
                f"API key {existing.prefix}… already exists (its secret was shown when it was "
                "made; `manage.py create_api_key --merchant 'Demo Store'` makes another)."
            )
            return
        _, secret = create_api_key(merchant=merchant, name="Demo key", created_by=admin)
        self.stdout.write(f"API key (shown once): {secret}")

    def _customers(self, merchant, rng) -> list[Customer]:
        customers = []
        for i in range(40):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}{i}@example.com".lower()
            customers.append(
                get_or_create_customer(merchant=merchant, email=email, name=f"{first} {last}")
            )
        return customers

    def _payments(self, merchant, wanted: int, agent) -> int:
        existing = Payment.objects.filter(merchant=merchant).count()
        if existing >= wanted:
            return 0
        rng = random.Random(f"demo-{existing}")
        customers = self._customers(merchant, rng)
        # The shop's checkout takes payments with its API key; the agent refunds them.
        checkout = Actor(
            api_key=ApiKey.objects.for_merchant(merchant).filter(revoked_at__isnull=True).first()
        )
        actor = Actor(user=agent)
        now = timezone.now()
        for n in range(existing, wanted):
            plan = PLANS[n % len(PLANS)]
            currency = rng.choice(CURRENCIES)
            amount = rng.choice([1999, 2500, 4900, 9900, 12000, 35000, 150000])
            if plan == "failed":
                amount = 666  # the sandbox declines it
            payment = payment_services.create_payment(
                merchant=merchant,
                amount=amount,
                currency=currency,
                actor=checkout,
                customer_id=rng.choice(customers).id,
                capture=plan != "authorized" and plan != "voided",
                order_id=f"ORD-{10000 + n}",
                metadata={"channel": rng.choice(["web", "ios", "android"])},
            )
            if plan == "partially_refunded":
                payment_services.reverse_payment(
                    merchant=merchant, payment_id=payment.id, actor=actor, amount=amount // 4
                )
            elif plan in ("refunded", "voided"):
                payment_services.reverse_payment(
                    merchant=merchant, payment_id=payment.id, actor=actor
                )
            # Spread over the last weeks; the ledger keeps its own spacing.
            shift = payment.created_at - (now - timedelta(minutes=rng.randint(5, 60 * 24 * 45)))
            with transaction.atomic():
                Payment.objects.filter(id=payment.id).update(created_at=F("created_at") - shift)
                Transaction.objects.filter(payment_id=payment.id).update(
                    created_at=F("created_at") - shift,
                    processed_at=F("processed_at") - shift,
                )
        return wanted - existing

    def _customers_since_first_payment(self, merchant) -> None:
        """Payments are spread over the past weeks (above), after their customers were
        made today: move each customer back to its first payment, so no customer
        starts after it paid."""
        first_payment = Subquery(
            Payment.objects.filter(customer=OuterRef("pk"))
            .order_by("created_at")
            .values("created_at")[:1]
        )
        Customer.objects.for_merchant(merchant).filter(created_at__gt=first_payment).update(
            created_at=first_payment
        )

    def _customer_demo(self, merchant, users) -> None:
        seed_customer_demo(
            merchant=merchant,
            platform_user=users["platform@demo.test"],
            agent_user=users["agent@demo.test"],
            customers=list(Customer.objects.for_merchant(merchant)),
            payments=list(Payment.objects.for_merchant(merchant).order_by("created_at")),
        )
