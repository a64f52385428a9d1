"""The dashboard's Activity page: the merchant's own audit trail, for merchant admins."""

import pytest
from django.urls import reverse

from audit import views as audit_views
from audit.models import AuditEntry
from chargebacks.services import record_chargeback
from core.actors import Actor
from core.errors import ValidationFailed
from payments import services
from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("audit:activity")


@pytest.fixture
def refunded(merchant, agent):
    payment = PaymentFactory(merchant=merchant, amount=2500)
    services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=500
    )
    with pytest.raises(ValidationFailed):
        services.reverse_payment(
            merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=99_999
        )
    return payment


def test_merchant_admin_sees_who_refunded_and_what_was_refused(merchant_admin_client, refunded):
    response = merchant_admin_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    rows = html.split("<tbody>")[1]
    assert "agent@acme.test requested a refund of $5.00 of" in rows
    assert "(requested by customer), pending at the gateway" in rows
    assert ">Requested</span>" in rows and ">Succeeded<" not in rows
    assert "agent@acme.test tried to refund" in rows
    assert "Refused" in rows and "exceeds the amount available" in rows
    assert reverse("payments:detail", args=[refunded.id]) in rows
    assert "minor units" not in html and "{" not in rows
    assert f'href="{URL}"' in html  # the nav shows the page


def test_another_merchants_activity_is_never_shown(merchant_admin_client, other_merchant):
    foreign_agent = UserFactory(merchant=other_merchant, email="spy@other.test")
    foreign = PaymentFactory(merchant=other_merchant)
    services.reverse_payment(
        merchant=other_merchant, payment_id=foreign.id, actor=Actor(user=foreign_agent)
    )
    html = merchant_admin_client.get(URL).content.decode()
    assert foreign.id not in html
    assert "spy@other.test" not in html
    html = merchant_admin_client.get(URL, {"target": foreign.id}).content.decode()
    assert foreign.id not in html.split("<tbody>")[1]


@pytest.mark.parametrize("who", ["agent", "platform_admin"])
def test_roles_without_the_permission_get_403_and_no_link(client, request, who, merchant):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    if user.merchant_id:
        assert f'href="{URL}"' not in client.get(reverse("payments:list")).content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_filters_by_target_and_action_in_place(merchant_admin_client, merchant, refunded):
    other = PaymentFactory(merchant=merchant)
    response = merchant_admin_client.get(URL, {"target": refunded.id}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" not in html  # only the results partial
    assert refunded.id in html and other.id not in html
    html = merchant_admin_client.get(URL, {"action": "payment.create"}).content.decode()
    rows = html.split("<tbody>")[1]
    assert "The system charged $25.00 as" in rows and "refund" not in rows


def test_pages_older_entries_with_a_cursor(merchant_admin_client, merchant, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 2)
    payments = [PaymentFactory(merchant=merchant) for _ in range(3)]  # newest last
    first = merchant_admin_client.get(URL, {"action": "payment.create"})
    assert payments[2].id in first.content.decode()
    assert payments[0].id not in first.content.decode()
    older = first.context["pager"].older_url
    second = merchant_admin_client.get(older).content.decode()
    assert payments[0].id in second and payments[2].id not in second.split("<tbody>")[1]
    assert first.context["pager"].older_url and second.count("Older →") == 0


def test_post_is_not_allowed(merchant_admin_client):
    assert merchant_admin_client.post(URL).status_code == 405


def test_the_payment_page_links_to_its_activity_for_merchant_admins(
    client, merchant_admin, agent, refunded
):
    link = f"{URL}?target={refunded.id}"
    page = reverse("payments:detail", args=[refunded.id])
    client.force_login(merchant_admin)
    assert link in client.get(page).content.decode()
    client.force_login(agent)
    assert link not in client.get(page).content.decode()


def test_every_action_has_a_filter_entry(merchant_admin_client):
    html = merchant_admin_client.get(URL).content.decode()
    for value, label in AuditEntry.Action.choices:
        assert f'<option value="{value}">{label}</option>' in html


def test_filtering_by_a_customer_finds_everything_done_to_them_blacklisting_included(
    merchant_admin_client, merchant, agent
):
    jane = CustomerFactory(merchant=merchant, email="jane@example.test")
    payment = PaymentFactory(merchant=merchant, customer=jane, amount=2500)
    services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=Actor(user=agent), amount=500
    )
    record_chargeback(
        merchant=merchant,
        payment_id=payment.id,
        actor=Actor(user=agent),
        blacklist_customer=True,
        customer_restrictions={"restrict_cit": True},
    )
    someone_else = PaymentFactory(merchant=merchant, amount=999)

    response = merchant_admin_client.get(URL, {"target": f" {jane.id} "}, headers=HTMX)
    said = [s.text for s in response.context["entries"]]
    assert said == [
        "agent@acme.test recorded a chargeback of $25.00 on "
        f"{payment.id}, blacklisted the customer's email and restricted customer-initiated "
        "payments",
        "agent@acme.test blacklisted jane@example.test at every merchant after a chargeback "
        f"(reason: Chargeback on payment {payment.id})",
        "agent@acme.test set the payment restrictions of jane@example.test: customer-initiated "
        "payments restricted and recurring payments allowed",
        f"agent@acme.test requested a refund of $5.00 of {payment.id} (requested by customer), "
        "pending at the gateway",
        f"The system charged $25.00 as {payment.id}",
    ]
    assert someone_else.id not in response.content.decode()
    blacklisted = merchant_admin_client.get(URL, {"target": jane.id, "action": "blacklist.add"})
    assert [s.entry.action for s in blacklisted.context["entries"]] == ["blacklist.add"]


def test_a_customer_filter_never_reaches_another_merchants_entries(
    merchant_admin_client, other_merchant
):
    foreign = CustomerFactory(merchant=other_merchant)
    PaymentFactory(merchant=other_merchant, customer=foreign)
    response = merchant_admin_client.get(URL, {"target": foreign.id})
    assert response.context["entries"] == []
