"""Wealth scan API: queueing the scan (202 with the run to poll), what it reviews, who sees runs."""

from __future__ import annotations

import pytest

from wealth.models import ClientReview

pytestmark = pytest.mark.django_db

URL = "/api/v1/wealth/runs"


def test_advisor_queues_a_scan_of_their_own_clients(world, api_a, api_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(URL, {}, format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "wealth.scan" and body["poll_url"] == f"/api/v1/runs/{body['id']}"
    run = api_a.get(f"{URL}/{body['id']}").json()
    assert run["status"] == "succeeded", run
    assert run["result"]["clients"] == 1 and run["user"] == "advisor_a"
    # Only advisor A's client was reviewed.
    assert list(ClientReview.objects.values_list("client__code", flat=True)) == ["CA"]
    assert [r["id"] for r in api_a.get(URL).json()["results"]] == [body["id"]]
    # Another advisor sees neither the run nor its result.
    assert api_b.get(f"{URL}/{body['id']}").status_code == 404
    assert api_b.get(URL).json()["results"] == []


def test_auditor_reads_runs_but_cannot_queue_one(world, api_a, api_auditor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = api_a.post(URL, {}, format="json").json()["id"]

    assert api_auditor.get(f"{URL}/{run_id}").status_code == 200
    assert api_auditor.post(URL, {}, format="json").status_code == 403
    assert len(api_auditor.get(URL).json()["results"]) == 1
