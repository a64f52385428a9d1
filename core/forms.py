"""Dashboard forms: one-use form tokens, a service's refusal shown on the form, and the
field an amount is typed in.

A dialog form carries a token made when the dialog was rendered. The first POST with
it claims it atomically; a second POST with the same token (a double click, a resubmit,
a retried request) finds it claimed and gets the first outcome instead of acting
again. The claim is a row with a unique key, committed before the action starts, so it
holds across every process and server; rows are purged after 24 hours.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django import forms
from django.db import IntegrityError, transaction
from django.forms.utils import flatatt
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import money
from .errors import DomainError
from .models import FormSubmission


def new_form_token() -> str:
    return uuid.uuid4().hex


class TokenForm(forms.Form):
    """A form that can be acted on once: its hidden `token` is claimed by submit_once."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("token", new_form_token())
        super().__init__(*args, **kwargs)


class AmountField(forms.CharField):
    """An amount typed in major units ("12.50"): a text box with a decimal keypad, read
    exactly by core.money.parse_major (never through a float), its error on the field.

    With a `currency` (set by a form that knows it, like the payment's), it cleans to
    minor units: an int, or None when optional and left empty. Without one it cleans to
    the text, for a form that reads it in the currency chosen in another of its fields.
    """

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, currency: str | None = None, max_length: int = 64, **kwargs):
        self.currency = currency
        super().__init__(max_length=max_length, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if self.currency is None:
            return text
        if not text:
            return None
        try:
            return money.parse_major(text, self.currency)
        except money.MoneyError as error:
            raise forms.ValidationError(str(error)) from None


class QuickSelect(forms.Select):
    """A select written in Python, with the same markup as Django's templates give. A
    currency list has some 180 options, and through templates each one is an include:
    the payments list's filters spent about a quarter of the page's time on them.
    (No option groups: for flat choices only.)"""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], flatatt(option["attrs"]), option["label"])
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options
        )


class FormToken:
    """The claim on one (user, purpose, token)."""

    def __init__(self, *, user_id: int, purpose: str, token: str):
        self.key = f"{user_id}:{purpose}:{token}"
        self._record: FormSubmission | None = None

    def claim(self) -> bool:
        """True for the first claim; False when this token was already used."""
        for _ in range(3):
            try:
                with transaction.atomic():
                    self._record = FormSubmission.objects.create(key=self.key)
                return True
            except IntegrityError:
                self._record = FormSubmission.objects.filter(key=self.key).first()
                if self._record is not None:
                    return False
                # Released in between (its action was refused): try again.
        raise RuntimeError(f"Could not claim form token {self.key!r}")  # pragma: no cover

    def release(self) -> None:
        """The action was refused (nothing happened): the same form may be resent."""
        if self._record is not None:
            FormSubmission.objects.filter(pk=self._record.pk).delete()

    def complete(self, outcome: str) -> None:
        FormSubmission.objects.filter(pk=self._record.pk).update(
            outcome=outcome, completed_at=timezone.now()
        )

    def outcome(self) -> str | None:
        """What the first use made, or None while it is still running."""
        record = self._record
        if record is None or record.completed_at is None:
            return None
        return record.outcome


def _field_name(param: str) -> str:
    """A service's camelCase param, maybe dotted, as a form field name:
    'customerRestrictions.restrictMit' -> 'restrict_mit'."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", param.rsplit(".", 1)[-1]).lower()


def add_refusal(form: forms.Form, refused: DomainError) -> None:
    """Show a service's refusal on the field its `param` names, else above the form."""
    name = _field_name(refused.param) if refused.param else None
    form.add_error(name if name in form.fields else None, refused.message)


def attempt[T](form: forms.Form, action: Callable[[], T]) -> T | None:
    """Run `action` (a service call) for a valid form and answer what it answers; when the
    service refuses, the refusal goes on the form (add_refusal) and the answer is None."""
    try:
        return action()
    except DomainError as refused:
        add_refusal(form, refused)
        return None


def submit_once(
    request: HttpRequest,
    form: TokenForm,
    *,
    purpose: str,
    action: Callable[[], str],
    busy: str = "This is already being submitted. Please wait.",
) -> str | None:
    """Run `action` (a service call answering the id of what it made) once per form
    token. Answers that id, or the first submission's for a form sent again; None
    when the service refused (the refusal is on the form, and the token is released
    so the corrected form can be sent) or the first submission is still running."""
    token = FormToken(user_id=request.user.pk, purpose=purpose, token=form.cleaned_data["token"])
    if token.claim():
        try:
            outcome = action()
        except DomainError as refused:
            token.release()
            add_refusal(form, refused)
            return None
        token.complete(outcome)
        return outcome
    if (outcome := token.outcome()) is not None:
        return outcome
    form.add_error(None, busy)
    return None


class SecretOnce:
    """A service call that makes something with a secret to show once (an API key, a
    webhook signing secret), as submit_once's `action`: it answers the id of what it
    made, and keeps the secret for the answer to this POST. A form sent again gets the
    first submission's id and no secret (it was shown to that POST only)."""

    def __init__(self, make: Callable[[], tuple[object, str]]):
        self.make = make
        self.secret: str | None = None

    def __call__(self) -> str:
        made, self.secret = self.make()
        return made.id
