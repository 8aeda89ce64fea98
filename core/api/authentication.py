"""API-key authentication: ``Authorization: Api-Key <prefix>.<secret>``."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.services import api_key_authenticate

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme != KEYWORD:
            return None
        api_key = api_key_authenticate(raw_key=token.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
