"""The shared plotting helper: one layout, safe JSON, and the template tag. No database."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from django.template import Context, Template

from core.plotting import (
    CONFIG,
    NEGATIVE,
    POSITIVE,
    chart_json,
    daily_bar_figure,
    figure_new,
    horizontal_bar_figure,
)


def test_given_a_new_figure_then_it_has_the_shared_layout_and_no_default_template():
    layout = figure_new(height_px=200).to_plotly_json()["layout"]
    assert layout["height"] == 200
    assert layout["font"]["family"].startswith("system-ui")
    # "none": plotly's default template (colours, fonts: ~10 kB of JSON) is not shipped.
    assert "layout" not in layout["template"]


def test_given_signed_values_when_drawn_as_horizontal_bars_then_shorts_get_the_negative_colour():
    fig = horizontal_bar_figure(labels=["A", "B"], values=[Decimal("5"), Decimal("-3")], value_label="Value")
    bar = fig.data[0]
    assert list(bar.x) == [5.0, -3.0]
    assert list(bar.marker.color) == [POSITIVE, NEGATIVE]
    assert fig.layout.height >= 160


def test_given_days_when_drawn_as_daily_bars_then_x_is_iso_dates():
    fig = daily_bar_figure(days=[date(2022, 12, 29), date(2022, 12, 30)], values=[3, 0], value_label="Executions")
    assert list(fig.data[0].x) == ["2022-12-29", "2022-12-30"]


def test_given_a_label_that_closes_a_script_when_serialised_then_it_cannot_escape_the_element():
    fig = horizontal_bar_figure(labels=["</script><script>alert(1)</script>"], values=[1], value_label="v")
    text = chart_json(fig)
    assert "<" not in text and ">" not in text
    spec = json.loads(text)
    # Escaped twice over: as entities for plotly's label markup, as \u003C for the script element.
    assert spec["data"][0]["y"] == ["&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"]
    assert spec["config"] == CONFIG


def test_given_chart_json_when_rendered_by_the_tag_then_div_and_data_script_are_emitted():
    data = chart_json(figure_new())
    html = Template("{% load charts %}{% chart data label=label chart_id='c1' %}").render(
        Context({"data": data, "label": "A <chart>"})
    )
    assert '<figure class="chart" id="c1">' in html
    assert 'aria-label="A &lt;chart&gt;"' in html
    assert f'<script type="application/json" class="chart-data">{data}</script>' in html


def test_given_no_chart_data_when_rendered_by_the_tag_then_nothing():
    assert Template('{% load charts %}{% chart "" label="x" %}').render(Context()) == ""


def test_chart_scripts_load_plotly_from_the_installed_package_not_a_cdn():
    html = Template("{% load charts %}{% chart_scripts %}").render(Context())
    assert "/static/vendor/plotly/plotly.min.js" in html
    assert "/static/js/charts.js" in html
    assert "cdn" not in html.lower()


def test_markup_in_labels_is_shown_as_text_not_rendered():
    from core.plotting import horizontal_bar_figure

    fig = horizontal_bar_figure(labels=['<a href="//evil">X</a>'], values=[1], value_label="v", hover_text=["<b>h</b>"])
    assert fig.data[0].y[0] == '&lt;a href="//evil"&gt;X&lt;/a&gt;'
    assert fig.data[0].customdata[0] == "&lt;b&gt;h&lt;/b&gt;"
