"""OpenAPI pieces shared by every endpoint: the error body and the common error statuses."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class RowErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField(help_text="0-based position of the row in `rows`.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorDetailSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    message = serializers.CharField()
    invalid_rows = serializers.IntegerField(required=False, help_text="Ingestion: how many rows failed.")
    rows = RowErrorSerializer(many=True, required=False, help_text="Ingestion: the first 1,000 bad rows.")
    fields = serializers.DictField(required=False, help_text="Field errors of a non-batch request.")


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    error = ErrorDetailSerializer()


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; nothing was written."),
    401: OpenApiResponse(ErrorSerializer, description="No or invalid credentials."),
    403: OpenApiResponse(ErrorSerializer, description="The user's role does not allow this."),
    429: OpenApiResponse(ErrorSerializer, description="Throttled; see Retry-After."),
    503: OpenApiResponse(
        ErrorSerializer, description="The database cannot be reached (restart, fail-over); retry after Retry-After."
    ),
}
NOT_FOUND_RESPONSE = OpenApiResponse(ErrorSerializer, description="No such object, or not in your scope.")
UNSUPPORTED_MEDIA_TYPE_RESPONSE = OpenApiResponse(ErrorSerializer, description="The body is not JSON.")
READ_ERROR_RESPONSES = {k: v for k, v in ERROR_RESPONSES.items() if k != 400} | {
    400: OpenApiResponse(ErrorSerializer, description="Invalid filter or cursor."),
}


class VigilAutoSchema(AutoSchema):
    """Adds the error statuses every endpoint can answer, so each operation documents them."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        common = {code: ERROR_RESPONSES[code] for code in (401, 403, 429, 503)}
        if self.method == "GET":
            common[400] = READ_ERROR_RESPONSES[400]
        if self.method in {"POST", "PUT", "PATCH"}:
            # Any operation that reads a body answers a malformed or invalid one with a 400, and
            # a body that is not JSON with a 415, whether or not its view names them.
            common[400] = ERROR_RESPONSES[400]
            common[415] = UNSUPPORTED_MEDIA_TYPE_RESPONSE
        if "{" in self.path:
            # Every operation on an object (detail, nested list, action) looks the object up first.
            common[404] = NOT_FOUND_RESPONSE
        for code, response in common.items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    response.response, str(code), direction=direction
                ) | {"description": response.description}
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix>.<secret>` — issued with `manage.py api_key_create`.",
        }
