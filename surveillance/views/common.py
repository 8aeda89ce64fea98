"""Helpers shared by the surveillance pages: who may act, 404 for what is out of scope, and
putting a service's error back on the form that caused it."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest

from core.errors import ApplicationError, NotFound
from core.roles import is_read_only
from surveillance import selectors
from surveillance.models import Alert, Case

PAGE_SIZE = 50


def can_act(request: HttpRequest) -> bool:
    return not is_read_only(request.user)


def field_errors(form: forms.Form, exc: ApplicationError) -> None:
    """Put a service's error on the form: its named fields where the form has them, the message
    otherwise (four-eyes refusals, invalid transitions, missing objects)."""
    fields = exc.extra.get("fields") or {}
    placed, elsewhere = False, []
    for name, errors in fields.items():
        for error in errors if isinstance(errors, list | tuple) else [errors]:
            if name in form.fields:
                form.add_error(name, str(error))
                placed = True
            else:
                elsewhere.append(f"{name}: {error}")
    if not placed:
        form.add_error(None, exc.message)
    elif elsewhere:
        form.add_error(None, " ".join(elsewhere))


def alert_or_404(request: HttpRequest, pk: int) -> Alert:
    try:
        return selectors.alert_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such alert.") from None


def case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return selectors.case_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such case.") from None
