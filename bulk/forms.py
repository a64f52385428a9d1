from django import forms

from core.forms import TokenForm

from .files import MAX_FILE_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "Columns payment_id, amount (in the payment's currency; empty refunds everything "
            f"refundable), reason, note. At most 10,000 rows and {MAX_FILE_BYTES // 1048576} MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ConfirmForm(TokenForm):
    """Confirm a dry run: refunded once per form token (and once per row, whatever)."""
