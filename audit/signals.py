"""Audit events for authentication: login, failed login, logout.

Django announces these through signals (there is no service of ours in the path), so the
receivers here are thin adapters onto ``audit_record``. A failed login stores only the
attempted username: Django hands receivers the credentials with the password masked, and
even the mask is never read here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from audit.services import audit_record

_USERNAME_MAX = 150  # Django's username length; longer input is not a username anyway


def _attempted_username(credentials: dict[str, Any]) -> str:
    field = get_user_model().USERNAME_FIELD
    return str(credentials.get(field) or credentials.get("username") or "")[:_USERNAME_MAX]


def login_recorded(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_record(action="auth.login", actor=user, obj=user)


def login_failure_recorded(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """No actor (nobody is authenticated); the username tried goes into ``parameters``.

    ``object_id`` names the account when the username exists, so an auditor filtering on
    one user sees the attempts against it; ``locked_out`` is set by django-axes when the
    attempt was refused (or the account got locked) by the lockout policy.
    """
    username = _attempted_username(credentials)
    user_model = get_user_model()
    user_id = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).values_list("pk", flat=True).first()
        if username
        else None
    )
    audit_record(
        action="auth.login_failed",
        actor=AnonymousUser(),
        object_type=user_model._meta.label_lower,
        object_id=user_id if user_id is not None else "",
        object_repr=username,
        parameters={"username": username, "locked_out": bool(getattr(request, "axes_locked_out", False))},
    )


def logout_recorded(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    # Django also signals a logout of a session that was never logged in (user None): nothing to record.
    if user is not None:
        audit_record(action="auth.logout", actor=user, obj=user)


def connect() -> None:
    """Called once from ``AuditConfig.ready``; dispatch uids make a second call harmless."""
    user_logged_in.connect(login_recorded, dispatch_uid="audit.login")
    user_login_failed.connect(login_failure_recorded, dispatch_uid="audit.login_failed")
    user_logged_out.connect(logout_recorded, dispatch_uid="audit.logout")
