"""The audit trail in words: one sentence per entry, for a support lead.

"agent@acme.test refunded $12.00 of pay_… (requested by customer)". Entries keep the
structured metadata their service recorded; the words are made here, from the action
and that metadata, when the entry is shown. Amounts are formatted for their currency
(core.money), never "minor units"; restrictions are words, never a dict; a blacklisting
names the email, not the entry's number. The outcome agrees with the money: a refund
the gateway has not answered yet was *requested*, not "Succeeded"; a declined payment
was declined. An older entry missing a key that is recorded now still reads as a
sentence, with less detail.

The trail imports no domain model: the words for payments' reasons and initiators are
kept here, and the links are URL names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core import money
from core.actors import SYSTEM_LABEL

from .models import AuditEntry

Action = AuditEntry.Action

REASON_WORDS = {
    "requested_by_customer": "requested by customer",
    "duplicate": "duplicate",
    "fraudulent": "fraudulent",
    "other": "other reason",
}
RESTRICTION_WORDS = {"cit": "customer-initiated payments", "mit": "recurring payments"}
PRIVILEGE_WORDS = {"is_staff": "staff access", "is_superuser": "superuser rights"}

# How much of a long id a sentence shows ("pay_hgHSnG9k…"); the whole id is on hover.
ID_SHOWN = 12
# Outcome tones, and the badge each is shown with.
DONE, PENDING, REFUSED, NEUTRAL = "done", "pending", "refused", "neutral"
BADGES = {
    DONE: "badge-txn-succeeded",
    PENDING: "badge-warning",
    REFUSED: "badge-danger",
    NEUTRAL: "badge-neutral",
}


@dataclass(frozen=True)
class Ref:
    """An object named in a sentence: linked to its page when it has one."""

    kind: str  # "payment", "customer", or anything else (shown, not linked)
    id: str
    label: str = ""

    @property
    def text(self) -> str:
        return self.label or self.id

    @property
    def shown(self) -> str:
        """What the page shows: a long id cut short (the whole one is on hover), so an
        entry stays one line; a label (an email) as it is."""
        text = self.text
        if text == self.id and len(text) > ID_SHOWN + 2:
            return text[:ID_SHOWN] + "…"
        return text

    @property
    def url(self) -> str | None:
        name = {
            "payment": "payments:detail",
            "customer": "customers:detail",
            "dispute": "chargebacks:dispute",
        }.get(self.kind)
        if not name or not self.id:
            return None
        try:
            return reverse(name, args=[self.id])
        except NoReverseMatch:  # an id no URL can hold (a refused call's garbage)
            return None


Part = str | Ref


@dataclass(frozen=True)
class Sentence:
    """What an entry says: the sentence (as text, and as HTML with its objects linked)
    and the outcome word with its tone."""

    entry: AuditEntry
    parts: tuple[Part, ...]
    outcome: str
    tone: str

    @property
    def text(self) -> str:
        return "".join(part if isinstance(part, str) else part.text for part in self.parts)

    @property
    def html(self) -> SafeString:
        def render(part: Part):
            if isinstance(part, str):
                return (part,)
            title = format_html(' title="{}"', part.text) if part.shown != part.text else ""
            url = part.url
            if url is None:
                return (format_html('<span class="mono"{}>{}</span>', title, part.shown),)
            return (format_html('<a class="mono" href="{}"{}>{}</a>', url, title, part.shown),)

        return format_html_join("", "{}", (render(part) for part in self.parts))

    @property
    def badge(self) -> str:
        """The outcome badge's class."""
        return BADGES[self.tone]

    def __str__(self) -> str:
        return self.text


def describe(entry: AuditEntry) -> Sentence:
    """The entry as a sentence, by its action and outcome."""
    meta = entry.metadata if isinstance(entry.metadata, dict) else {}
    told = _Told(entry, meta)
    if entry.outcome == AuditEntry.Outcome.REFUSED:
        parts = [told.actor, " tried to ", *ATTEMPTS.get(entry.action, _attempt_generic)(told)]
        why = entry.detail.rstrip(".") if entry.detail else "refused"
        return Sentence(entry, (*parts, ": ", why), "Refused", REFUSED)
    describer = DESCRIBERS.get(entry.action, _done_generic)
    parts, outcome, tone = describer(told)
    return Sentence(entry, (told.actor, " ", *parts), outcome, tone)


# --- what every describer reads ----------------------------------------------------------------


class _Told:
    """An entry's facts, read defensively from its metadata (never shown as they are)."""

    def __init__(self, entry: AuditEntry, meta: dict):
        self.entry = entry
        self.meta = meta
        self.arguments = meta.get("arguments") if isinstance(meta.get("arguments"), dict) else {}

    @property
    def actor(self) -> str:
        label = self.entry.actor_label or SYSTEM_LABEL
        return "The system" if label == SYSTEM_LABEL else label

    def get(self, *names: str, default: Any = None) -> Any:
        """The first of `names` found in the metadata, then in the call's arguments."""
        for source in (self.meta, self.arguments):
            for name in names:
                if source.get(name) not in (None, ""):
                    return source[name]
        return default

    def amount(self, *names: str) -> str | None:
        """An amount of the entry's currency, formatted for people; None when it is
        missing or its currency is unknown (never a bare number of minor units)."""
        value, currency = self.get(*names), self.get("currency")
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        if not isinstance(currency, str) or not money.is_currency(currency):
            return None
        return money.format_minor(value, currency)

    def payment(self) -> Ref:
        payment_id = self.get("paymentId") or self.entry.target_id
        return Ref("payment", str(payment_id or ""), label=str(payment_id or "a payment"))

    def customer(self) -> Ref:
        customer_id = self.get("customerId") or self.entry.customer_id
        if not customer_id and self.entry.target_type == "customer":
            customer_id = self.entry.target_id
        return Ref(
            "customer",
            str(customer_id or ""),
            label=self.get("email") or customer_id or "a customer",
        )

    def email(self) -> Part:
        """The email a blacklist entry is about, linked to the merchant's customer."""
        email = self.get("email")
        if not email:
            return Ref("", self.entry.target_id, label=f"blacklist entry {self.entry.target_id}")
        if self.entry.customer_id:
            return Ref("customer", self.entry.customer_id, label=email)
        return email

    def key(self) -> str:
        prefix = self.get("prefix")
        name = self.get("name")
        label = f"{prefix}…" if prefix else (self.entry.target_id or "an API key")
        return f"{label} “{name}”" if name else label

    def reason(self) -> str:
        reason = self.get("reason")
        return REASON_WORDS.get(reason, str(reason).replace("_", " ")) if reason else ""


def _in_brackets(*words: str) -> str:
    shown = [w for w in words if w]
    return f" ({'; '.join(shown)})" if shown else ""


def _joined(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def restriction_words(restrictions: dict, *, as_state: bool = False) -> list[str]:
    """{"restrict_mit": True, "restrict_reason": "fraud"} (snake or camel case) as words:
    ["restricted recurring payments"]; as a state: ["recurring payments restricted",
    "customer-initiated payments allowed"]. The reason is left to the caller."""
    words = []
    for kind in ("cit", "mit"):
        value = restrictions.get(f"restrict_{kind}", restrictions.get(f"restrict{kind.title()}"))
        if value is None:
            continue
        what = RESTRICTION_WORDS[kind]
        if as_state:
            words.append(f"{what} {'restricted' if value else 'allowed'}")
        else:
            words.append(f"restricted {what}" if value else f"allowed {what} again")
    return words


def restriction_reason(restrictions: dict) -> str:
    reason = restrictions.get("restrict_reason", restrictions.get("restrictReason"))
    return f"reason: {reason}" if reason else ""


# --- succeeded entries -----------------------------------------------------------------------

Described = tuple[list[Part], str, str]


def _payment_created(told: _Told) -> Described:
    amount = told.amount("amount") or "an amount"
    recurring = " (recurring)" if told.get("initiator") == "MIT" else ""
    if told.get("status") == "failed":
        return (
            ["tried to charge ", amount, recurring, ": payment ", told.payment(), " failed"],
            "Failed",
            REFUSED,
        )
    if told.get("amountCaptured"):
        return ["charged ", amount, recurring, " as ", told.payment()], "Captured", DONE
    return (
        ["authorized ", amount, recurring, " as ", told.payment(), ", not captured yet"],
        "Authorized",
        NEUTRAL,
    )


def _payment_captured(told: _Told) -> Described:
    captured = told.amount("amountCaptured")
    if told.get("amountCaptured") == 0:
        return (
            ["tried to capture ", told.payment(), ": the capture was declined"],
            "Declined",
            (REFUSED),
        )
    amount = captured or "the authorization"
    if told.get("capturePending"):
        return (
            [
                "requested the capture of ",
                amount,
                " of ",
                told.payment(),
                ", pending at the gateway",
            ],
            "Requested",
            PENDING,
        )
    if told.get("capturePending") is None:  # recorded before the trail said
        return ["asked to capture ", amount, " of ", told.payment()], "Accepted", NEUTRAL
    return ["captured ", amount, " of ", told.payment()], "Captured", DONE


def _reversed(told: _Told) -> Described:
    is_void = told.get("type") == "void" or told.entry.action == Action.PAYMENT_VOID
    noun, done = ("void", "voided") if is_void else ("refund", "refunded")
    amount = told.amount("amount")
    # "a refund of $12.00 of pay_…", "a void of ¥500 on pay_…", or without an amount
    # (an entry that did not record one) "a refund of pay_…".
    what = [f" of {amount}" if amount else "", " on " if is_void else " of ", told.payment()]
    reason = _in_brackets(told.reason())
    status = told.get("status")
    if told.get("isExternal") or told.entry.action == Action.PAYMENT_REFUND_EXTERNAL:
        said = [f"recorded a {noun}", *what, reason, ", not sent to the gateway"]
        return said, "Recorded", DONE
    if status == "pending":
        said = [f"requested a {noun}", *what, reason, ", pending at the gateway"]
        return said, "Requested", PENDING
    if status == "failed":
        return [f"asked for a {noun}", *what, ": declined"], "Declined", REFUSED
    if status == "succeeded":
        return [f"made a {noun}", *what, reason], done.capitalize(), DONE
    return [f"asked for a {noun}", *what, reason], "Accepted", NEUTRAL


def _chargeback(told: _Told) -> Described:
    amount = told.amount("disputeAmount")
    if not amount and told.get("amountCaptured"):
        amount = told.amount("amountCaptured")
    amount = amount or told.amount("amount") or "an amount"
    also = []
    if told.get("blacklistedCustomer"):
        also.append("blacklisted the customer's email")
    applied = told.get("appliedRestrictions") or {}
    if isinstance(applied, dict):
        also += restriction_words(applied)
    tail = f", {_joined(also)}" if also else ""
    reason = _in_brackets(restriction_reason(applied) if isinstance(applied, dict) else "")
    return (
        ["recorded a chargeback of ", amount, " on ", told.payment(), tail, reason],
        "Recorded",
        NEUTRAL,
    )


def _dispute(told: _Told) -> Ref:
    dispute_id = told.get("disputeId") or told.entry.target_id
    return Ref("dispute", str(dispute_id or ""), label=str(dispute_id or "a dispute"))


def _dispute_evidence(told: _Told) -> Described:
    return ["saved evidence on dispute ", _dispute(told), " of ", told.payment()], "Saved", DONE


def _dispute_submitted(told: _Told) -> Described:
    return (
        ["submitted the evidence of dispute ", _dispute(told), " on ", told.payment()],
        "Submitted",
        DONE,
    )


def _dispute_file(told: _Told) -> Described:
    name = told.get("fileName") or "a file"
    return [f"added the evidence file {name} to dispute ", _dispute(told)], "Saved", DONE


def _dispute_accepted(told: _Told) -> Described:
    amount = told.amount("amount") or "an amount"
    return (
        ["accepted dispute ", _dispute(told), f" and the loss of {amount} on ", told.payment()],
        "Accepted",
        NEUTRAL,
    )


def _dispute_closed(told: _Told) -> Described:
    amount = told.amount("amount") or "the amount"
    if told.get("status") == "won":
        words = f" as won: {amount} given back on "
    else:
        words = f" as lost: {amount} kept by the cardholder's bank on "
    return ["recorded dispute ", _dispute(told), words, told.payment()], "Recorded", NEUTRAL


def _restricted(told: _Told) -> Described:
    state = restriction_words(told.meta, as_state=True)
    if not state:
        return ["changed the payment restrictions of ", told.customer()], "Saved", DONE
    if not any(word.endswith("restricted") for word in state):
        return ["lifted the payment restrictions of ", told.customer()], "Saved", DONE
    reason = _in_brackets(restriction_reason(told.meta))
    return (
        ["set the payment restrictions of ", told.customer(), ": ", _joined(state), reason],
        "Saved",
        DONE,
    )


def _blacklisted(told: _Told) -> Described:
    source = " after a chargeback" if told.get("source") == "chargeback" else ""
    reason = _in_brackets(f"reason: {told.get('reason')}" if told.get("reason") else "")
    return ["blacklisted ", told.email(), " at every merchant", source, reason], "Blacklisted", DONE


def _unblacklisted(told: _Told) -> Described:
    return ["removed ", told.email(), " from the blacklist"], "Removed", DONE


def _key_created(told: _Told) -> Described:
    return [f"created {_mode(told)} API key ", told.key()], "Created", DONE


def _key_revoked(told: _Told) -> Described:
    mode = told.get("mode")
    return [f"revoked the {mode + ' ' if mode else ''}API key ", told.key()], "Revoked", DONE


def _roles_changed(told: _Told) -> Described:
    email = told.get("email")
    if not email:  # recorded before the email was kept apart: the detail says it in words
        return [f"changed roles: {told.entry.detail}"], "Changed", DONE
    said = []
    if added := told.get("added"):
        said.append(f"gave {email} the role{'s' if len(added) > 1 else ''} {_joined(added)}")
    if removed := told.get("removed"):
        said.append(
            f"took the role{'s' if len(removed) > 1 else ''} {_joined(removed)} from {email}"
        )
    return [" and ".join(said) or f"changed the roles of {email}"], "Changed", DONE


def _privileges_changed(told: _Told) -> Described:
    email = told.get("email")
    changes = told.get("changes") or {}
    if not email or not isinstance(changes, dict):
        return [f"changed a user's access: {told.entry.detail}"], "Changed", DONE
    said = []
    for name, words in PRIVILEGE_WORDS.items():
        change = changes.get(name)
        if isinstance(change, list) and len(change) == 2 and change[0] != change[1]:
            said.append(f"gave {email} {words}" if change[1] else f"took {words} from {email}")
    active = changes.get("is_active")
    if isinstance(active, list) and len(active) == 2 and active[0] != active[1]:
        said.append(f"reactivated {email}" if active[1] else f"deactivated {email}")
    if told.get("created"):
        said.insert(0, f"created the user {email}")
    return [_joined(said) or f"changed the access of {email}"], "Changed", DONE


def _refund_held(told: _Told) -> Described:
    amount = told.amount("amount") or "an amount"
    reason = _in_brackets(told.reason())
    return (
        ["asked to refund ", amount, " of ", told.payment(), reason, ", waiting for approval"],
        "Waiting",
        PENDING,
    )


def _held_refund(told: _Told) -> list[Part]:
    """ "the refund of $40.00 of pay_… asked by agent@…" """
    amount = told.amount("amount")
    asked = told.get("askedBy")
    return [
        "the refund",
        f" of {amount}" if amount else "",
        " of ",
        told.payment(),
        f" asked by {asked}" if asked else "",
    ]


def _refund_approved(told: _Told) -> Described:
    return ["approved ", *_held_refund(told), "; sent to the gateway"], "Approved", DONE


def _refund_rejected(told: _Told) -> Described:
    note = told.get("note")
    return ["rejected ", *_held_refund(told), _in_brackets(note or "")], "Rejected", NEUTRAL


def _refund_expired(told: _Told) -> Described:
    said = ["expired ", *_held_refund(told), ": unanswered for 72 hours, nothing was sent"]
    return said, "Expired", NEUTRAL


def _threshold_set(told: _Told) -> Described:
    currency = told.get("currency") or "a currency"
    amount = told.amount("amount")
    if amount is None:
        return [f"removed the refund approval threshold of {currency}"], "Removed", DONE
    return (
        [
            f"set the refund approval threshold of {currency}: refunds over ",
            amount,
            " need approval",
        ],
        "Saved",
        DONE,
    )


def _done_generic(told: _Told) -> Described:
    return [told.entry.get_action_display().lower()], "Done", DONE


DESCRIBERS: dict[str, Callable[[_Told], Described]] = {
    Action.PAYMENT_CREATE: _payment_created,
    Action.PAYMENT_CAPTURE: _payment_captured,
    Action.PAYMENT_REFUND: _reversed,
    Action.PAYMENT_REFUND_EXTERNAL: _reversed,
    Action.PAYMENT_VOID: _reversed,
    Action.PAYMENT_CHARGEBACK: _chargeback,
    Action.DISPUTE_EVIDENCE: _dispute_evidence,
    Action.DISPUTE_SUBMIT: _dispute_submitted,
    Action.DISPUTE_FILE: _dispute_file,
    Action.DISPUTE_ACCEPT: _dispute_accepted,
    Action.DISPUTE_CLOSE: _dispute_closed,
    Action.CUSTOMER_RESTRICT: _restricted,
    Action.BLACKLIST_ADD: _blacklisted,
    Action.BLACKLIST_REMOVE: _unblacklisted,
    Action.API_KEY_CREATE: _key_created,
    Action.API_KEY_REVOKE: _key_revoked,
    Action.USER_ROLES_CHANGE: _roles_changed,
    Action.USER_PRIVILEGES_CHANGE: _privileges_changed,
    Action.REFUND_APPROVAL_ASK: _refund_held,
    Action.REFUND_APPROVE: _refund_approved,
    Action.REFUND_REJECT: _refund_rejected,
    Action.REFUND_EXPIRE: _refund_expired,
    Action.APPROVAL_THRESHOLD_SET: _threshold_set,
}


# --- refused entries: what was tried ---------------------------------------------------------


def _attempt_generic(told: _Told) -> list[Part]:
    return [told.entry.get_action_display().lower()]


def _of_payment(told: _Told) -> list[Part]:
    """ "$5.00 of pay_…" when the call named an amount of a known currency, else "pay_…"."""
    amount = told.amount("amount")
    return [amount, " of ", told.payment()] if amount else [told.payment()]


def _held_refund_tried(told: _Told) -> list[Part]:
    """A refused decision names the payment once it was found, else the refund's id."""
    if told.entry.target_type == "payment":
        return ["a held refund of ", told.payment()]
    return ["the held refund ", Ref("", told.entry.target_id)]


def _mode(told: _Told) -> str:
    mode = told.get("mode")
    return f"a {mode}" if mode in ("test", "live") else "an"


ATTEMPTS: dict[str, Callable[[_Told], list[Part]]] = {
    Action.PAYMENT_CREATE: lambda t: [
        "charge ",
        t.amount("amount") or "a payment",
        " (recurring)" if t.get("initiator") == "MIT" else "",
        *([" to ", t.customer()] if t.entry.customer_id else []),
    ],
    Action.PAYMENT_CAPTURE: lambda t: ["capture ", *_of_payment(t)],
    Action.PAYMENT_REFUND: lambda t: ["refund ", *_of_payment(t)],
    Action.PAYMENT_REFUND_EXTERNAL: lambda t: ["record a refund of ", *_of_payment(t)],
    Action.PAYMENT_VOID: lambda t: ["void ", t.payment()],
    Action.PAYMENT_CHARGEBACK: lambda t: ["record a chargeback on ", t.payment()],
    Action.DISPUTE_EVIDENCE: lambda t: ["save evidence on dispute ", _dispute(t)],
    Action.DISPUTE_SUBMIT: lambda t: ["submit the evidence of dispute ", _dispute(t)],
    Action.DISPUTE_FILE: lambda t: ["add an evidence file to dispute ", _dispute(t)],
    Action.DISPUTE_ACCEPT: lambda t: ["accept dispute ", _dispute(t)],
    Action.DISPUTE_CLOSE: lambda t: ["record the outcome of dispute ", _dispute(t)],
    Action.CUSTOMER_RESTRICT: lambda t: ["change the payment restrictions of ", t.customer()],
    Action.BLACKLIST_ADD: lambda t: ["blacklist ", t.email()],
    Action.BLACKLIST_REMOVE: lambda t: ["remove ", t.email(), " from the blacklist"],
    Action.API_KEY_CREATE: lambda t: [f"create {_mode(t)} API key"],
    Action.API_KEY_REVOKE: lambda t: ["revoke the API key ", t.key()],
    Action.REFUND_APPROVAL_ASK: lambda t: ["refund ", *_of_payment(t)],
    Action.REFUND_APPROVE: lambda t: ["approve ", *_held_refund_tried(t)],
    Action.REFUND_REJECT: lambda t: ["reject ", *_held_refund_tried(t)],
    Action.APPROVAL_THRESHOLD_SET: lambda t: [
        f"set the refund approval threshold of {t.get('currency') or 'a currency'}"
    ],
}
