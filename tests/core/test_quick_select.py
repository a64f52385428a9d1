"""core.forms.QuickSelect writes the markup Django's own Select template writes (the
payments list's filters use it for speed): same options, the chosen one selected,
values and labels escaped."""

import re

import pytest
from django import forms

from core.forms import QuickSelect

CHOICES = [("", "Any currency"), ("EUR", "EUR"), ("USD", "USD"), ('"><b>', "<i>odd</i>")]


def rendered(widget_class, data):
    class Form(forms.Form):
        currency = forms.ChoiceField(choices=CHOICES, required=False, widget=widget_class)

    html = str(Form(data)["currency"])
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("data", [{}, {"currency": "EUR"}, {"currency": '"><b>'}])
def test_it_writes_what_djangos_select_writes(data):
    assert rendered(QuickSelect, data) == rendered(forms.Select, data)


def test_the_chosen_option_is_selected_and_odd_text_is_escaped():
    html = rendered(QuickSelect, {"currency": "USD"})

    assert '<option value="USD" selected>USD</option>' in html
    assert '<option value="EUR">EUR</option>' in html
    assert "<i>" not in html and "&lt;i&gt;odd&lt;/i&gt;" in html
