"""Sign-in, the header, and who may open what (SPEC 1: deny by default; a foreign id
answers like a missing one)."""

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, UserFactory

MERCHANT_PAGES = [
    ("payments:list", {}),
    ("payments:overview", {}),
    ("customers:list", {}),
]


def test_anonymous_is_sent_to_sign_in(client, payment, customer):
    urls = [
        reverse("home"),
        reverse("payments:list"),
        reverse("payments:overview"),
        reverse("payments:detail", args=[payment.id]),
        reverse("payments:reverse", args=[payment.id]),
        reverse("chargebacks:record", args=[payment.id]),
        reverse("customers:list"),
        reverse("customers:detail", args=[customer.id]),
        reverse("customers:blacklist"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url


def test_anonymous_post_changes_nothing_and_is_sent_to_sign_in(client, payment):
    response = client.post(reverse("payments:reverse", args=[payment.id]), {"amount": "1.00"})
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.amount_reversed == 0


def test_sign_in_with_email_and_password_then_sign_out(client, agent):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'type="email"' in page.content

    response = client.post(
        reverse("login"), {"username": "AGENT@acme.test", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get("/").url == reverse("payments:list")

    assert client.get(reverse("logout")).status_code == 405  # sign-out is a POST
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("payments:list")).status_code == 302


def test_wrong_password_shows_an_error(client, agent):
    response = client.post(reverse("login"), {"username": agent.email, "password": "nope"})
    assert response.status_code == 200
    assert b"alert-error" in response.content


def test_header_shows_merchant_and_role(agent_client):
    html = agent_client.get(reverse("payments:list")).content.decode()
    assert "Acme Shop" in html
    assert "Support agent" in html
    assert "agent@acme.test" in html
    assert 'action="/logout/"' in html
    assert "Blacklist</a>" not in html
    assert "Admin</a>" not in html


def test_platform_staff_land_on_the_blacklist_and_see_no_merchant_page(platform_client, payment):
    assert platform_client.get("/").url == reverse("customers:blacklist")
    html = platform_client.get(reverse("customers:blacklist")).content.decode()
    assert "Platform" in html and "Platform admin" in html
    assert "Admin</a>" in html
    assert ">Payments</a>" not in html
    for name, kwargs in MERCHANT_PAGES:
        assert platform_client.get(reverse(name, kwargs=kwargs)).status_code == 403
    assert platform_client.get(reverse("payments:detail", args=[payment.id])).status_code == 403


def test_merchant_members_cannot_open_the_blacklist(agent_client, merchant_admin_client):
    for client in (agent_client, merchant_admin_client):
        assert client.get(reverse("customers:blacklist")).status_code == 403
        response = client.post(
            reverse("customers:blacklist_add"), {"email": "x@example.test", "reason": "r"}
        )
        assert response.status_code == 403


def test_a_member_without_a_role_is_refused_everywhere(client, merchant, payment):
    client.force_login(UserFactory(email="norole@acme.test", merchant=merchant))
    assert client.get("/").status_code == 403
    for name, kwargs in MERCHANT_PAGES:
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403
    assert client.get(reverse("payments:detail", args=[payment.id])).status_code == 403


def test_another_merchants_payment_is_not_found(agent_client, foreign_payment):
    for name in ("payments:detail", "payments:reverse", "chargebacks:record"):
        url = reverse(name, args=[foreign_payment.id])
        assert agent_client.get(url).status_code == 404, name
    response = agent_client.post(
        reverse("payments:reverse", args=[foreign_payment.id]), {"amount": "1.00", "token": "t"}
    )
    assert response.status_code == 404
    foreign_payment.refresh_from_db()
    assert foreign_payment.amount_reversed == 0


def test_a_missing_payment_is_not_found_too(agent_client):
    assert agent_client.get(reverse("payments:detail", args=["pay_nope"])).status_code == 404


def test_another_merchants_customer_is_not_found(merchant_admin_client, other_merchant):
    foreign = CustomerFactory(merchant=other_merchant)
    url = reverse("customers:detail", args=[foreign.id])
    assert merchant_admin_client.get(url).status_code == 404
    response = merchant_admin_client.post(
        reverse("customers:restrictions", args=[foreign.id]), {"restrict_cit": "on"}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert not foreign.restrict_cit


@pytest.mark.parametrize(
    "name", ["payments:reverse", "chargebacks:record"], ids=["refund", "chargeback"]
)
def test_a_role_without_the_permission_gets_403(viewer_client, payment, name):
    url = reverse(name, args=[payment.id])
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, {"amount": "1.00"}).status_code == 403
    payment.refresh_from_db()
    assert payment.amount_reversed == 0
    assert not payment.is_chargebacked
