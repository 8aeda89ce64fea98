"""Navigation entries the current user may open, for the base layout."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from core.roles import Area, has_area, user_roles

_NAV: list[tuple[Area | None, str, str]] = [
    (Area.HOME, "Home", "home"),
    (Area.RISK, "Risk", "riskapp:index"),
    (Area.SURVEILLANCE, "Surveillance", "surveillance:index"),
    (Area.EXECUTION, "Best execution", "execution_quality:index"),
    (Area.WEALTH, "Wealth", "wealth:index"),
    (Area.AUDIT, "Audit", "audit:event_list"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    items = [
        {
            "label": label,
            "url": reverse(name),
            "active": request.path == reverse(name) or (name != "home" and request.path.startswith(reverse(name))),
        }
        for area, label, name in _NAV
        if area is not None and has_area(user, area)
    ]
    if user.is_staff:
        items.append({"label": "Admin", "url": reverse("admin:index"), "active": request.path.startswith("/admin/")})
    roles = sorted(r.value.replace("_", " ") for r in user_roles(user))
    if user.is_superuser:
        roles.insert(0, "superuser")
    return {"nav_items": items, "user_roles": roles}
