"""Request id and client IP for every request, echoed in the X-Request-ID response header."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with ``PROXY_COUNT`` trusted proxies in front, the
    address the outermost of them saw (counted from the right of X-Forwarded-For, so a value the
    client put there itself is ignored)."""
    proxies = settings.PROXY_COUNT
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # An upstream id is kept only when it is safe to log and store verbatim.
        request_id = incoming if _SAFE_ID.match(incoming) else context.new_request_id()
        ctx = context.RequestContext(request_id=request_id, client_ip=client_ip(request))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.set_current(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response
