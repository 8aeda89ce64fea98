"""The API's own OpenAPI schema as a test oracle: does this response say what the schema says?

``assert_matches_schema(response, "GET", "/api/v1/orders/{id}/", id=7)`` runs the checks of the schema
fuzz test (tests/core/test_schema_fuzz.py) on one response of the Django test client: no 5xx, a
documented status code and content type, a body valid against the documented schema.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import requests
import schemathesis
from django.http import HttpResponse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@functools.cache
def api_schema() -> Any:
    """The schema ``/api/schema/`` serves, generated once per test session (it takes seconds)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))


def api_component(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = api_schema().raw_schema["components"]["schemas"][name]
    return schema


def assert_matches_schema(response: HttpResponse, method: str, path: str, **path_parameters: Any) -> None:
    """Raise schemathesis' failure group if ``response`` (to ``method path``, the path as the
    schema writes it, e.g. ``/api/v1/orders/{id}/`` with ``id=...``) is not one the schema documents."""
    operation = api_schema()[path][method]
    url = "http://testserver" + path.format(**path_parameters)
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(method, url).prepare(),
        elapsed=0.0,
        verify=False,
    )
    operation.Case(path_parameters=path_parameters).validate_response(answer, checks=CHECKS)
