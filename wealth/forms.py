"""Wealth forms: they check what a person typed and turn it into the arguments of one service.

Rates are typed as percentages (5 = 5 %) and handed to the services as fractions (0.05), the
unit of the database and the engine. A service's own refusal (e.g. an infeasible allocation)
comes back onto the form's fields through ``field_errors``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from core.errors import ApplicationError
from wealth.models import Goal
from wealth.services.clients import GOAL_RATE_BOUNDS

HUNDRED = Decimal(100)


def field_errors(form: forms.Form, exc: ApplicationError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's error on the form: on the named fields the form has (``aliases`` maps a
    service's field name to the form's), the rest and the message on the form as a whole."""
    fields = exc.extra.get("fields") or {}
    placed, elsewhere = False, []
    for name, errors in fields.items():
        target = (aliases or {}).get(name, name)
        for error in errors if isinstance(errors, list | tuple) else [errors]:
            if target in form.fields:
                form.add_error(target, str(error))
                placed = True
            else:
                elsewhere.append(str(error))
    if not placed:
        form.add_error(None, exc.message)
    for error in elsewhere:
        form.add_error(None, error)


def _percent(
    label: str, *, required: bool = False, min_value: float | None = None, max_value: float = 100, **kw: Any
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=None if min_value is None else Decimal(str(min_value)),
        max_value=Decimal(str(max_value)),
        max_digits=9,
        decimal_places=4,
        **kw,
    )


# ---------------------------------------------------------------------------- dashboard

ATTENTION_CHOICES = [("", "Everyone"), ("attention", "Needing attention"), ("ok", "Nothing to do")]
FLAG_CHOICES = [
    ("", "Any reason"),
    ("drift", "Drift"),
    ("harvest", "Tax-loss harvest"),
    ("goals", "Goals off track"),
    ("coaching", "Coaching"),
]


class AttentionFilterForm(forms.Form):
    """Filters of the advisor's dashboard (all optional)."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    show = forms.ChoiceField(label="Show", choices=ATTENTION_CHOICES, required=False)
    flag = forms.ChoiceField(label="Reason", choices=FLAG_CHOICES, required=False)


# ---------------------------------------------------------------------------- questionnaire


class QuestionnaireForm(forms.Form):
    """One radio group per question of a questionnaire version; the field name is the question's
    code, the values the choices' values."""

    def __init__(self, *args: Any, questions: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for q in questions:
            self.fields[q["code"]] = forms.ChoiceField(
                label=q["text"],
                choices=[(c["value"], c["label"]) for c in q.get("choices", [])],
                widget=forms.RadioSelect,
                error_messages={"required": "Choose one answer.", "invalid_choice": "Choose one of the answers shown."},
            )
            self.fields[q["code"]].dimension = q.get("dimension", "")  # type: ignore[attr-defined]

    def answers(self) -> dict[str, str]:
        return {code: str(value) for code, value in self.cleaned_data.items()}


# ---------------------------------------------------------------------------- goals

RATE_FIELDS = ("contribution_growth", "inflation", "annual_fee")


def _rate(label: str, name: str, initial: float) -> forms.DecimalField:
    """A goal's yearly rate in %, within the service's bounds (``GOAL_RATE_BOUNDS``, fractions)."""
    low, high = GOAL_RATE_BOUNDS[name]
    return _percent(label, min_value=float(low * HUNDRED), max_value=float(high * HUNDRED), initial=initial)


class GoalForm(forms.Form):
    """A goal in today's money; growth, inflation and fee as % a year."""

    kind = forms.ChoiceField(label="Kind", choices=Goal.Kind.choices)
    name = forms.CharField(label="Name", max_length=200)
    target_amount = forms.DecimalField(
        label="Target (today's money)", min_value=Decimal("0.01"), max_digits=20, decimal_places=2
    )
    horizon_years = forms.IntegerField(label="Horizon (years)", min_value=1, max_value=80)
    priority = forms.ChoiceField(label="Priority", choices=Goal.Priority.choices, initial=Goal.Priority.IMPORTANT)
    initial_amount = forms.DecimalField(
        label="Saved so far", min_value=Decimal(0), max_digits=20, decimal_places=2, initial=0
    )
    monthly_contribution = forms.DecimalField(
        label="Monthly contribution", min_value=Decimal(0), max_digits=20, decimal_places=2, initial=0
    )
    contribution_growth = _rate("Contribution growth (% a year)", "contribution_growth", 2)
    inflation = _rate("Inflation (% a year)", "inflation", 2.5)
    annual_fee = _rate("Fees (% a year)", "annual_fee", 0.5)
    glide_path = forms.BooleanField(
        label="Glide path: become more conservative as the goal nears", required=False, initial=True
    )

    @classmethod
    def initial_for(cls, goal: Goal) -> dict[str, Any]:
        initial = {name: getattr(goal, name) for name in cls.base_fields}
        for name in RATE_FIELDS:
            initial[name] = (Decimal(getattr(goal, name)) * HUNDRED).normalize()
        return initial

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        defaults = {"contribution_growth": Decimal("2"), "inflation": Decimal("2.5"), "annual_fee": Decimal("0.5")}
        for name in RATE_FIELDS:
            value = data.get(name)
            data[name] = (defaults[name] if value is None else value) / HUNDRED
        return data


# ---------------------------------------------------------------------------- proposals

OBJECTIVES = [
    ("max_sharpe", "Max Sharpe ratio"),
    ("min_variance", "Min variance"),
    ("target_risk", "Max return at a volatility"),
    ("target_return", "Min risk for a return"),
]
RETURN_SOURCES = [
    ("historical", "Historical (shrunk means)"),
    ("equilibrium", "Market equilibrium"),
    ("black_litterman", "Black–Litterman"),
]


MAX_VIEWS = 50
_VIEW_FORMAT = "write “SYMBOL return% confidence%”, e.g. “AAPL 8 60”."


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _view_parse(line: str) -> tuple[dict[str, Any], str]:
    """One Black–Litterman view from ``SYMBOL return% [confidence%]``: (the view with fractions,
    "") or ({}, what is wrong). Bounds are the service's: −100 % < return < 200 %, 0 < confidence ≤ 100 %."""
    parts = line.split()
    if len(parts) not in (2, 3):
        return {}, _VIEW_FORMAT
    symbol, ret = parts[0], _number(parts[1])
    confidence = _number(parts[2]) if len(parts) == 3 else Decimal(50)
    if ret is None or confidence is None:
        return {}, "the return and the confidence must be numbers; " + _VIEW_FORMAT
    if not Decimal(-100) < ret < Decimal(200):
        return {}, "the return must be between −100 % and 200 % a year."
    if not Decimal(0) < confidence <= HUNDRED:
        return {}, "the confidence must be more than 0 % and at most 100 %."
    return {"symbol": symbol, "return": float(ret / HUNDRED), "confidence": float(confidence / HUNDRED)}, ""


class AllocationForm(forms.Form):
    """Ask for a new allocation: what to optimise, a target where the objective needs one,
    how much may change, and where expected returns come from."""

    objective = forms.ChoiceField(label="Objective", choices=OBJECTIVES, initial="max_sharpe")
    target = _percent(
        "Target (% a year)",
        min_value=0.01,
        help_text="The volatility (max return at a volatility) or the return (min risk for a return).",
    )
    max_turnover = _percent(
        "Max turnover (%)", min_value=0, help_text="One-way share of the portfolio that may change; blank = no limit."
    )
    returns = forms.ChoiceField(label="Expected returns", choices=RETURN_SOURCES, initial="historical")
    views = forms.CharField(
        label="Views (Black–Litterman)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "AAPL 8 60"}),
        help_text=(
            "One view a line: symbol, expected return (% a year) and confidence (%, default 50), "
            "e.g. “AAPL 8 60”. Only with Black–Litterman returns."
        ),
    )

    def clean_views(self) -> list[dict[str, Any]]:
        """``[{"symbol", "return", "confidence"}]`` (fractions), with an error per bad line."""
        views, errors = [], []
        lines = self.cleaned_data.get("views", "").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            view, error = _view_parse(line)
            if error:
                errors.append(f"Line {number}: {error}")
            else:
                views.append(view)
        if len(views) > MAX_VIEWS:
            errors.append(f"At most {MAX_VIEWS} views.")
        if errors:
            raise forms.ValidationError(errors)
        return views

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        objective = data.get("objective")
        if objective in ("target_risk", "target_return") and data.get("target") is None:
            self.add_error("target", "This objective needs a target.")
        if data.get("views") and data.get("returns") != "black_litterman":
            self.add_error("views", "Views need Black–Litterman expected returns.")
        elif data.get("returns") == "black_litterman" and "views" in data and not data["views"]:
            self.add_error("views", "Black–Litterman needs at least one view.")
        return data

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``allocation_propose`` (rates as fractions)."""
        data = self.cleaned_data
        needs_target = data["objective"] in ("target_risk", "target_return")
        return {
            "objective": data["objective"],
            "target": float(data["target"] / HUNDRED) if needs_target and data.get("target") is not None else None,
            "max_turnover": float(data["max_turnover"] / HUNDRED) if data.get("max_turnover") is not None else None,
            "returns": data["returns"],
            "views": data.get("views") or None,
        }


class RebalanceForm(forms.Form):
    cash_flow = forms.DecimalField(
        label="Cash flow",
        required=False,
        max_digits=20,
        decimal_places=2,
        help_text="Optional: a deposit (positive) or a withdrawal (negative) to place with the rebalance.",
    )

    def amount(self) -> Decimal:
        value = self.cleaned_data.get("cash_flow")
        return Decimal(0) if value is None else value


class AcceptForm(forms.Form):
    note = forms.CharField(label="Note (optional)", required=False, max_length=2000, widget=forms.Textarea)


class DeclineForm(forms.Form):
    note = forms.CharField(
        label="Why is it declined?",
        max_length=2000,
        widget=forms.Textarea,
        error_messages={"required": "Say why the recommendation is declined."},
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Say why the recommendation is declined.")
        return note
