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
}
READ_ERROR_RESPONSES = {k: v for k, v in ERROR_RESPONSES.items() if k != 400} | {
    400: OpenApiResponse(ErrorSerializer, description="Invalid filter or cursor."),
}


class VigilAutoSchema(AutoSchema):
    """Adds the error statuses every endpoint can answer, so each operation documents them."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        common = {401: ERROR_RESPONSES[401], 403: ERROR_RESPONSES[403], 429: ERROR_RESPONSES[429]}
        if self.method == "GET":
            common[400] = READ_ERROR_RESPONSES[400]
            if not self._is_list_view():
                common[404] = OpenApiResponse(ErrorSerializer, description="No such object, or not in your scope.")
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
