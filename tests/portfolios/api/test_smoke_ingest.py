"""Given an OMS client, when it posts a batch of desks, then the rows exist and it can read them."""

import pytest

pytestmark = pytest.mark.django_db


def test_desk_batch_is_created_and_readable(oms):
    response = oms.post("/api/v1/desks", {"rows": [{"code": "NEW", "name": "New desk"}]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 1
    listing = oms.get("/api/v1/desks").json()["results"]
    assert "NEW" in {d["code"] for d in listing}
