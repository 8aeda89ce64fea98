"""Template tags that put a figure from ``core.plotting`` on a page.

``{% chart data_json label="..." %}`` renders the chart's ``<div>`` and its JSON;
``{% chart_scripts %}`` (in ``{% block scripts %}``, only on pages with a chart) loads plotly.js
from the installed package and ``js/charts.js``, which calls ``Plotly.newPlot``.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def chart(data_json: str, *, label: str, chart_id: str = "", css_class: str = "") -> SafeString:
    """A chart container plus its figure JSON.

    ``data_json`` must come from ``core.plotting.chart_json`` (already escaped for a
    ``<script>`` element). ``label`` is the accessible name of the chart (screen readers
    cannot read the SVG); ``chart_id`` is optional, for tests and anchors.
    """
    if not data_json:
        return mark_safe("")
    # The JSON is escaped by chart_json (<, > and & as \u escapes), so it cannot close the
    # script element; format_html must not HTML-escape it or the JSON would break.
    return format_html(
        '<figure class="{}"{}><div class="plot" role="img" aria-label="{}"></div>'
        '<script type="application/json" class="chart-data">{}</script></figure>',
        f"chart {css_class}".strip(),
        format_html(' id="{}"', chart_id) if chart_id else "",
        label,
        mark_safe(data_json),  # noqa: S308 - produced and escaped by core.plotting.chart_json
    )


@register.simple_tag
def chart_scripts() -> SafeString:
    """plotly.js and the chart loader, deferred so they never block the first paint."""
    return format_html(
        '<script src="{}" defer></script><script src="{}" defer></script>',
        static("vendor/plotly/plotly.min.js"),
        static("js/charts.js"),
    )
