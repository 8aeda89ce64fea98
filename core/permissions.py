"""Access checks for pages and API endpoints, both driven by ``core.roles.AREA_ROLES``.

Anonymous users are sent to the login page (pages) or get 401/403 (API). Authenticated
users without the area get 403 and leave an ``access.denied`` audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.roles import Area, has_area, is_read_only


def deny_record(request: HttpRequest, area: Area) -> None:
    from audit.services import audit_record

    audit_record(
        action="access.denied",
        actor=request.user,
        object_type="url",
        object_id=request.path[:100],
        parameters={"area": area.value, "method": request.method},
    )


class AreaRequiredMixin(AccessMixin):
    """Class-based views: login required, then the area. ``write`` views refuse read-only roles."""

    area: Area = Area.HOME
    write: bool = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_area(request.user, self.area) or (self.write and is_read_only(request.user)):
            deny_record(request, self.area)
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def area_required(
    area: Area, *, write: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Function-based views: the same checks as ``AreaRequiredMixin``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not has_area(request.user, area) or (write and is_read_only(request.user)):
                deny_record(request, area)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasArea(BasePermission):
    """DRF permission: the user has ``area``; writes also need a role that is not read-only."""

    area: Area = Area.DATA
    write_area: Area | None = None

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        area = self.area if request.method in SAFE_METHODS or self.write_area is None else self.write_area
        allowed = has_area(user, area) and (request.method in SAFE_METHODS or not is_read_only(user))
        if not allowed:
            deny_record(request._request, area)
        return allowed


def area_permission(area: Area, *, write_area: Area | None = None) -> type[HasArea]:
    """A permission class for one area (reads) and optionally another for writes."""
    return type(f"Has{area.value.title()}Area", (HasArea,), {"area": area, "write_area": write_area})
