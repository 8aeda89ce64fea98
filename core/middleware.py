"""Request id and client IP for every request (echoed in the X-Request-ID response header), the
access log line and HTTP metrics, and the probe endpoints answered ahead of the chain."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.functional import SimpleLazyObject

from core import context, metrics

_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # used with fullmatch: no trailing newline


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
        request_id = incoming if _SAFE_ID.fullmatch(incoming) else context.new_request_id()
        ctx = context.RequestContext(request_id=request_id, client_ip=client_ip(request))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.set_current(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


access_logger = logging.getLogger("vigil.access")

# Answered before host validation and sessions (``ProbeMiddleware``).
HEALTH_PATH = "/health/"
METRICS_PATH = "/metrics"


def route_name(request: HttpRequest) -> str:
    """The matched URL route's name: a bounded label, unlike the raw path."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else "unmatched"


def _user_id(request: HttpRequest) -> int | None:
    """The user the request was served for, without loading one: reading ``request.user`` here
    would query the session for requests that never did (and fail when the database is down)."""
    user = getattr(request, "_cached_user", None)  # set once session authentication ran
    if user is None:
        candidate = request.__dict__.get("user")
        if candidate is not None and not isinstance(candidate, SimpleLazyObject):
            user = candidate  # the API sets the user it authenticated (API key) directly
    return user.pk if user is not None and user.is_authenticated else None


class AccessMiddleware:
    """Times every request, counts it in the HTTP metrics and logs one access line.

    Runs inside ``RequestContextMiddleware`` so the line carries the request id. Load-balancer
    and scraper polls (health, metrics) are logged at DEBUG unless they fail, so they do not
    drown the log.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_s = time.perf_counter() - started
        route = route_name(request)
        metrics.request_observe(
            route=route, method=request.method or "", status=response.status_code, duration_s=duration_s
        )
        ctx = context.current()
        probe = route in ("health", "metrics") and response.status_code < 400
        access_logger.log(
            logging.DEBUG if probe else logging.INFO,
            "%s %s %s %s %.1fms",
            request.method,
            request.path,
            route,
            response.status_code,
            duration_s * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration_s * 1000, 1),
                "user_id": _user_id(request),
                "client_ip": ctx.client_ip if ctx else None,
            },
        )
        return response


class ProbeMiddleware:
    """Answers ``/health/`` and bearer-token ``/metrics`` before host validation and sessions.

    Load balancers and Prometheus reach each web process from inside the network by address or
    container name, which ``ALLOWED_HOSTS`` does not (and should not) list; neither endpoint
    builds a URL from the Host header, so host validation protects nothing there. A browser
    opening ``/metrics`` with its session goes through the whole chain.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == HEALTH_PATH or (path == METRICS_PATH and metrics.bearer_token(request) is not None):
            match = resolve(path)
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
