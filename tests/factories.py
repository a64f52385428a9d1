"""factory_boy factories. Payments are made through the real service, so every
factory-built payment has a consistent ledger."""

import factory
from django.contrib.auth.models import Group

from chargebacks.models import Dispute
from chargebacks.services import close_dispute, record_chargeback
from core.actors import SYSTEM
from customers.models import Customer
from merchants.models import Merchant, User
from merchants.services import create_api_key
from payments import services as payment_services
from payments.models import Payment


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Merchant {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    merchant = factory.SubFactory(MerchantFactory)
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    merchant = factory.SubFactory(MerchantFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    name = factory.Faker("name")


class PaymentFactory(factory.Factory):
    """Builds a payment through payments.services.create_payment (sandbox gateway)."""

    class Meta:
        model = Payment

    merchant = factory.SubFactory(MerchantFactory)
    amount = 2500
    currency = "USD"
    capture = True
    initiator = "CIT"
    order_id = factory.Sequence(lambda n: f"order-{n}")
    customer = None

    @classmethod
    def _create(cls, model_class, *, merchant, customer, **kwargs):
        return payment_services.create_payment(
            merchant=merchant,
            actor=SYSTEM,
            customer_id=customer.id if customer else None,
            **kwargs,
        )

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("PaymentFactory only creates, through the service")


def make_api_key(merchant, **kwargs):
    """An API key and its secret."""
    return create_api_key(merchant=merchant, **kwargs)


def charge_back(payment, *, outcome: str | None = None):
    """Record a chargeback on the payment through the service, its dispute then closed
    with `outcome` ("won", "lost") as the gateway would report it, if given."""
    record_chargeback(merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM)
    if outcome:
        close_dispute(
            merchant=payment.merchant,
            actor=SYSTEM,
            dispute_id=Dispute.objects.get(payment=payment).id,
            outcome=outcome,
            reported_by_gateway=True,
        )
