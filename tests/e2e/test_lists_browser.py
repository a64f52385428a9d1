"""The lists in a real browser, as a person uses them (SPEC 8.1): searching ("ord-101",
"kowal"), filters that combine, the count and the empty state; rows that are one line
each at 1280 px, open with a click anywhere and copy their long ids; Newer and Older
that bring the table's top back; pages whose tables fit their cards (the blacklist's
Remove button stays clickable); and an invalid query that shows its error, not rows."""

import re
from datetime import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import SYSTEM
from customers.services import add_to_blacklist, update_restrictions
from merchants import roles
from payments.models import Payment
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# A renewal's order id, as subscriptions make them: long, and all but its end alike.
RENEWAL_ORDER_ID = "sub_Xj2alMHC2LrucVbq8W1kZr0Q:2026-11-24T21:33:00Z"


@pytest.fixture
def shop(roles_ready):
    merchant = MerchantFactory(name="Acme Shop")
    UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    ben = CustomerFactory(
        merchant=merchant, email="ben.kowalski11@example.com", name="Ben Kowalski"
    )
    jun = CustomerFactory(merchant=merchant, email="jun.weber18@example.com", name="Jun Weber")
    made = []
    for i in range(28):
        made.append(
            PaymentFactory(
                merchant=merchant,
                customer=ben if i % 4 == 0 else jun,
                amount=1000 + 250 * i,
                currency="EUR" if i % 5 == 0 else "USD",
                order_id=RENEWAL_ORDER_ID.replace("21:33", f"21:{i:02}") if i % 3 == 0 else "",
            )
        )
    wanted = PaymentFactory(merchant=merchant, customer=jun, amount=4200, order_id="ORD-10131")
    PaymentFactory(merchant=merchant, customer=jun, amount=4300, order_id="ORD-20000")
    return {"merchant": merchant, "ben": ben, "jun": jun, "wanted": wanted, "made": made}


def rows(page):
    return page.locator("#payment-results tbody tr")


def count_text(page):
    return page.locator("#payment-results .list-count")


def fits_its_card(page, table_selector: str) -> dict:
    return page.evaluate(
        """(selector) => {
            const table = document.querySelector(selector);
            const card = table.closest('.card');
            return {table: table.scrollWidth, card: card.clientWidth,
                    page: document.documentElement.scrollWidth, window: window.innerWidth};
        }""",
        table_selector,
    )


def assert_fits(page, table_selector: str) -> None:
    sizes = fits_its_card(page, table_selector)
    assert sizes["table"] <= sizes["card"], sizes
    assert sizes["page"] <= sizes["window"], sizes


def row_heights(page, selector: str) -> list[float]:
    return page.evaluate(
        "(s) => [...document.querySelectorAll(s)].map(r => r.getBoundingClientRect().height)",
        selector,
    )


# --- 7: search that forgives, filters that combine, a count, an empty state that helps ----


def test_a_person_finds_payments_by_part_of_what_they_know(page, shop):
    login(page, "agent@acme.test")
    page.goto("/payments/")
    expect(count_text(page)).to_have_text("30 payments")

    page.get_by_label("Search").fill("ord-101")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("ORD-10131")
    expect(count_text(page)).to_have_text("1 payment matches")
    expect(page).to_have_url(re.compile(r"\?q=ord-101"))

    page.get_by_label("Search").fill("kowal")
    expect(count_text(page)).to_have_text("7 payments match")
    expect(rows(page)).to_have_count(7)
    for email in rows(page).locator("td:nth-child(3)").all_inner_texts():
        assert email.startswith("ben.kowalski11@")

    # Filters combine with the search: Ben's euro payments from 10 to 60 euros.
    page.get_by_label("Currency").select_option("EUR")
    expect(count_text(page)).to_have_text("2 payments match")
    page.get_by_label("Amount from").fill("10")
    page.get_by_label("Amount to").fill("59.99")
    page.get_by_label("Amount to").press("Enter")
    expect(count_text(page)).to_have_text("1 payment matches")
    chips = ["Search: “kowal”", "Currency: EUR", "Amount from: €10.00", "Amount to: €59.99"]
    expect(page.locator("#payment-results .chip")).to_have_text(
        [re.compile("^Remove the filter " + re.escape(chip)) for chip in chips]
    )
    screenshot(page, "lists-payments-search")

    page.get_by_label("Search").fill("zzz-nothing")
    expect(rows(page)).to_have_count(1)
    empty = page.locator("#payment-results td.empty")
    expect(empty).to_contain_text("No payments match search “zzz-nothing”, currency EUR")
    expect(empty).to_contain_text("A search finds the start of a payment id, an order id")
    screenshot(page, "lists-payments-empty")
    empty.get_by_role("link", name="show all payments").click()
    expect(count_text(page)).to_have_text("30 payments")

    # The customers list finds a name by any part, as its search box says.
    page.goto("/customers/")
    expect(page.get_by_label("Search")).to_have_attribute("placeholder", "Email, name or cus_…")
    page.get_by_label("Search").fill("kowal")
    expect(page.locator("#customer-results tbody tr")).to_have_count(1)
    expect(page.locator("#customer-results tbody tr")).to_contain_text("Ben Kowalski")
    expect(page.locator("#customer-results .list-count")).to_have_text("1 customer matches")


# --- 8: lists that scan: one line a row, whole-row links, copy, Newer / Older -------------


def test_a_person_scans_opens_copies_and_pages_the_payments(page, shop, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, "agent@acme.test")
    page.goto("/payments/")
    expect(rows(page)).to_have_count(25)

    # One line a row at 1280 px: every row as tall as a row of one line, nothing wider
    # than its card.
    heights = row_heights(page, "#payment-results tbody tr")
    assert max(heights) < 50 and max(heights) - min(heights) < 2, heights
    assert_fits(page, "#payment-results table")
    screenshot(page, "lists-payments")

    # A long order id is cut, shows in full on hover, and copies whole.
    renewal = page.locator("#payment-results td:nth-child(6) .truncate", has_text="sub_").first
    full = renewal.get_attribute("title")
    assert full.startswith("sub_Xj2alMHC2LrucVbq8W1kZr0Q:2026-11-24T21:")
    assert renewal.evaluate("e => e.scrollWidth > e.clientWidth")
    renewal.locator("xpath=following-sibling::button").click()
    expect(page.locator(".toast").last).to_contain_text("Copied " + full)
    assert page.evaluate("navigator.clipboard.readText()") == full

    # A click anywhere on a row opens its payment (here: on its amount).
    first_row = rows(page).first
    payment_id = first_row.locator("a").first.inner_text()
    box = first_row.locator("td.num").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(rf"/payments/{payment_id}/$"))
    page.go_back()
    expect(rows(page)).to_have_count(25)

    # Older and Newer sit under the table; each brings the top of the page they swap in
    # back into view (two whole pages here, so the window would otherwise stay below).
    for i in range(20):
        PaymentFactory(merchant=shop["merchant"], amount=500 + i, customer=shop["jun"])
    page.goto("/payments/")
    first_page = rows(page).locator("a.row-target").all_inner_texts()
    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"\?after=pay_"))
    expect(page.locator("#payment-results")).to_be_focused()
    assert rows(page).locator("a.row-target").all_inner_texts()[0] not in first_page
    assert -1 <= results_top(page) < 50
    page.get_by_role("link", name="← Newer").click()
    expect(page).to_have_url(re.compile(r"\?before=pay_"))
    expect(page.locator("#payment-results")).to_be_focused()
    assert rows(page).locator("a.row-target").all_inner_texts() == first_page
    assert -1 <= results_top(page) < 50
    expect(page.get_by_role("link", name="← Newer")).to_have_count(0)


def results_top(page) -> float:
    return page.evaluate("document.querySelector('#payment-results').getBoundingClientRect().top")


# --- 9: no column cut off or hidden under another card ------------------------------------


def test_tables_fit_their_cards_and_every_button_stays_clickable(page, shop):
    merchant = shop["merchant"]
    UserFactory(
        email="platform@platform.test", merchant=None, is_staff=True, role=roles.PLATFORM_ADMIN
    )
    long_email = "a.very.long.address.of.a.card.tester@fraud-ring.example.net"
    for i in range(3):
        add_to_blacklist(
            email=f"{i}.{long_email}",
            reason="Card testing at several merchants, reported by three issuers in a week",
            actor=SYSTEM,
        )
    blocked = CustomerFactory(merchant=merchant, email=f"0.{long_email}", name="Card Tester")
    update_restrictions(
        merchant=merchant,
        customer_id=blocked.id,
        actor=SYSTEM,
        restrict_cit=True,
        restrict_mit=True,
    )
    # Ben's payments go back months; his customer record was made today.
    Payment.objects.filter(customer=shop["ben"]).update(
        created_at=timezone.make_aware(datetime(2026, 3, 2, 10, 0))
    )

    login(page, "agent@acme.test")
    page.goto("/customers/")
    assert_fits(page, "#customer-results table")
    heights = row_heights(page, "#customer-results tbody tr")
    assert max(heights) - min(heights) < 2, heights  # three badges keep to one line
    state = page.locator("#customer-results tbody tr", has_text="Card Tester").locator("td").nth(3)
    assert state.evaluate("td => getComputedStyle(td).display") == "table-cell"
    expect(state).to_contain_text("Blacklisted")
    screenshot(page, "lists-customers")

    page.goto(f"/customers/{shop['ben'].id}/")
    expect(page.locator(".page-header")).to_contain_text("customer since Mar 2, 2026")
    assert_fits(page, "#payments-title ~ .table-scroll table")

    page.get_by_role("button", name="Sign out").click()
    login(page, "platform@platform.test")
    for width in (1400, 1280):
        page.set_viewport_size({"width": width, "height": 860})
        page.goto("/blacklist/")
        assert_fits(page, "#blacklist-entries table")
        remove = page.get_by_role("link", name=f"Remove 2.{long_email}")
        box = remove.bounding_box()
        hit = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).textContent.trim()",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == "Remove", (width, hit)
    screenshot(page, "lists-blacklist")
    remove.click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text(f"2.{long_email}")
    dialog.get_by_label("Why is it removed?").fill("Issuer confirmed a mistake")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.locator("#blacklist-entries .list-count")).to_have_text("2 blacklisted emails")
    page.get_by_label("Show").select_option("removed")
    expect(page.locator("#blacklist-entries")).to_contain_text("Issuer confirmed a mistake")
    assert_fits(page, "#blacklist-entries table")


# --- 15d: an invalid query shows its error, never rows that do not match -----------------


def test_an_invalid_query_shows_its_error_and_no_rows(page, shop):
    login(page, "agent@acme.test")
    page.goto("/payments/?status=nope")
    alert = page.locator("#payment-results [role=alert]")
    expect(alert).to_contain_text("Status: Select a valid choice. nope is not one of")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_text("No payments shown.")
    screenshot(page, "lists-invalid-status")

    page.goto("/payments/?q=" + "x" * 256)
    expect(alert).to_contain_text("Search: Ensure this value has at most 255 characters")
    expect(page.locator("#payment-results a.row-target")).to_have_count(0)
    page.goto("/payments/?q=ord%00-101")
    expect(alert).to_contain_text("Search: Null characters are not allowed.")
    expect(page.locator("#payment-results a.row-target")).to_have_count(0)

    # An amount without its currency: the person is told, the list empties, and
    # choosing the currency brings the matching rows.
    page.goto("/payments/")
    page.get_by_label("Amount from").fill("40")
    page.get_by_label("Amount from").press("Enter")
    expect(alert).to_contain_text("Currency: An amount range needs a currency")
    expect(page.locator("#payment-results a.row-target")).to_have_count(0)
    screenshot(page, "lists-invalid-amount")
    page.get_by_label("Currency").select_option("USD")
    expect(alert).to_have_count(0)
    expect(count_text(page)).to_have_text(re.compile(r"^\d+ payments match$"))
    for amount in rows(page).locator("td.num").all_inner_texts():
        assert float(amount.split()[0].lstrip("$").replace(",", "")) >= 40
