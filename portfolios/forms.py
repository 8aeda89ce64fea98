"""Forms of the shared-model pages."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone


class SnapshotForm(forms.Form):
    as_of = forms.DateField(
        label="As of (UTC date)",
        # <input type="date"> only accepts ISO dates, whatever LANGUAGE_CODE's display format is.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="End of this day.",
    )

    def clean_as_of(self) -> date:
        value: date = self.cleaned_data["as_of"]
        if value > timezone.now().date():
            raise forms.ValidationError("Cannot snapshot a day in the future.")
        return value
