"""Surveillance forms: review actions on an alert, cases and their STOR draft, detector parameters.

Forms check shapes (a choice among the outcomes, a user among the eligible ones); the rules —
mandatory rationale, four-eyes, valid transitions, who may do what — belong to the services, whose
errors the views put back on these forms. So rationale fields are optional here: a blank one
reaches the service and comes back as the service's own message on the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet

from core.roles import Role
from surveillance.engine.params import DetectorSpec
from surveillance.models import Alert, Case

RATIONALE_MAX_CHARS = 10_000


def _rationale(label: str = "Rationale", *, help_text: str = "Required and audited.") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=RATIONALE_MAX_CHARS,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def reviewers(*, desk_ids: list[int] | None = None) -> QuerySet[User]:
    """Active compliance analysts and supervisors, optionally only members of these desks; the
    assign services make the final check (the assignee must see the alert's desk)."""
    qs = User.objects.filter(
        is_active=True, groups__name__in=[Role.COMPLIANCE_ANALYST.value, Role.COMPLIANCE_SUPERVISOR.value]
    )
    if desk_ids is not None:
        qs = qs.filter(desks__in=desk_ids)
    return qs.distinct().order_by("username")


class UserChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{obj.username} ({full})" if full else obj.username


class AssignForm(forms.Form):
    assignee = UserChoiceField(queryset=User.objects.none(), label="Assign to", empty_label="Choose a reviewer")

    def __init__(self, *args: Any, assignees: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees  # type: ignore[attr-defined]


class BulkAssignForm(AssignForm):
    """Assign several alerts at once; every id must be an alert the user can see."""

    alerts = forms.ModelMultipleChoiceField(
        queryset=Alert.objects.none(),
        error_messages={
            "required": "Tick at least one alert.",
            "invalid_choice": "Alert %(value)s is not in your queue.",
            "invalid_pk_value": "“%(pk)s” is not an alert id.",
        },
    )

    def __init__(self, *args: Any, alerts: QuerySet[Alert], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["alerts"].queryset = alerts  # type: ignore[attr-defined]


class CloseForm(forms.Form):
    """Close directly or propose the closure for four-eyes approval (same fields)."""

    outcome = forms.ChoiceField(choices=Alert.Outcome.choices, initial=Alert.Outcome.NO_ACTION)
    rationale = _rationale()


class RationaleForm(forms.Form):
    """Escalate, reject a proposal, propose or close a case: a rationale and nothing else."""

    rationale = _rationale()


class ApproveForm(forms.Form):
    rationale = _rationale("Comment", help_text="Optional; audited with the approval.")


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", max_length=RATIONALE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))


class CaseAddForm(forms.Form):
    case = forms.ModelChoiceField(queryset=Case.objects.none(), label="Open case", empty_label="Choose a case")

    def __init__(self, *args: Any, cases: QuerySet[Case], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases  # type: ignore[attr-defined]


class CaseNewForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StorForm(forms.Form):
    """The editable fields of a STOR draft, one text box per field (``fields``: name → (label,
    current value, multi-line))."""

    def __init__(self, *args: Any, fields: list[tuple[str, str, str, bool]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label, value, multiline in fields:
            widget = forms.Textarea(attrs={"rows": 3}) if multiline else forms.TextInput()
            self.fields[name] = forms.CharField(
                label=label, required=False, initial=value, max_length=RATIONALE_MAX_CHARS, widget=widget
            )


class DetectorForm(forms.Form):
    """A detector's parameters with their units and bounds as help; ``enabled`` switches it off.

    A field shows the supervisor's value, or is blank with the default as placeholder: blank
    means "the default", so an improved default in a new release reaches untuned detectors.
    Bounds are checked by the service (``params_clean``), whose field errors come back here, so
    the browser and the API refuse the same values with the same words.
    """

    enabled = forms.BooleanField(required=False, label="Enabled")

    def __init__(self, *args: Any, spec: DetectorSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in spec.params:
            unit = f" {p.unit}" if p.unit else ""
            self.fields[p.name] = forms.FloatField(
                label=p.name.replace("_", " "),
                required=False,
                help_text=f"{p.help} Default {p.default:g}{unit}; {p.minimum:g} to {p.maximum:g}{unit}.",
                widget=forms.NumberInput(attrs={"step": "1" if p.integer else "any", "placeholder": f"{p.default:g}"}),
            )
        self.param_names = [p.name for p in spec.params]

    def parameters(self) -> dict[str, float | None]:
        """Every parameter: the value typed in, or None (blank) for the default."""
        return {n: self.cleaned_data.get(n) for n in self.param_names}
