"""OpenAPI pieces shared by every endpoint: the error body and the common error statuses."""

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
