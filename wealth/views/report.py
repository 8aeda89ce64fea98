"""The client report PDF (opens in the browser)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from core.exports import download
from core.permissions import area_required
from core.roles import Area
from wealth.exports import client_report_pdf
from wealth.views.clients import client_context
from wealth.views.common import client_or_404


@area_required(Area.WEALTH)
def client_report(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_or_404(request, pk)
    pdf = client_report_pdf(client_context(request, client))
    return download(pdf, "application/pdf", f"client-report-{client.code}.pdf", disposition="inline")
