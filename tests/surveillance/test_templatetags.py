"""Display formats of the surveillance pages (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from django.test import override_settings
from django.utils import timezone as dj_timezone

from surveillance.templatetags.surveillance_tags import (
    age,
    iso_ms,
    num,
    price,
    prob,
    score_band,
    score_shown,
    ts_ms,
)


def test_given_times_then_shown_in_utc_to_the_millisecond():
    paris = timezone(timedelta(hours=1))
    assert ts_ms(datetime(2024, 3, 14, 15, 30, 5, 120_999, tzinfo=paris)) == "2024-03-14 14:30:05.120"
    assert iso_ms("2024-03-14T14:30:05.120000+00:00") == "2024-03-14 14:30:05.120"
    assert iso_ms("not a time") == "not a time" and ts_ms(None) == "—"


def test_given_prices_and_numbers_then_two_decimals_at_least_and_text_passes():
    assert [price(50), price("49.975"), price(Decimal("0.00012345")), price(None)] == [
        "50.00",
        "49.975",
        "0.00012345",
        "—",
    ]
    assert [num("5000", 0), num(1234.5), num(1.0), num("ACC-1")] == ["5,000", "1,234.5", "1", "ACC-1"]


@override_settings(SURVEILLANCE_FOUR_EYES_SCORE=70)
def test_given_scores_then_bands_follow_the_four_eyes_threshold():
    assert [score_band(70), score_band(69.9), score_band(40), score_band(39.9)] == ["high", "medium", "medium", "low"]
    assert [score_shown(69.9), score_shown(70.0), score_shown(None)] == ["69", "70", "—"]


def test_given_probability_and_age_then_percent_and_coarse_units():
    now = dj_timezone.now()
    assert [prob(None), prob(0.744)] == ["—", "74 %"]
    assert [age(now - timedelta(minutes=5)), age(now - timedelta(hours=5)), age(now - timedelta(days=3))] == [
        "5 min", "5 h", "3 d",
    ]  # fmt: skip
    assert age(datetime(2000, 1, 1, tzinfo=UTC)).endswith(" d")
