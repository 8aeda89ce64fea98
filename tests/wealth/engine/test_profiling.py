"""Risk profiling: questionnaire validation, scoring, bands and reasons.

Expected numbers are computed by hand from the points and weights of DEFAULT_QUESTIONNAIRE
(willingness: market_fall 0–4 × 1.5, trade_off 0–3, aim 0–4, experience 0–2, self_view 0–3, so
0–18 weighted points; capacity: horizon 0–4 × 2, income_stability 0–3, emergency_fund 0–3,
share_of_wealth 0–3, dependants 0–2, so 0–19) and the rule score = 100·(sum − min)/(max − min).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wealth.engine.profiling import (
    DEFAULT_QUESTIONNAIRE,
    PROFILE_NAMES,
    ProfilingError,
    answers_score,
    profile_for_score,
    questionnaire_parse,
)

QUESTIONS = questionnaire_parse(DEFAULT_QUESTIONNAIRE)


def extreme_answers(dimension: str | None, *, high: bool) -> dict[str, str]:
    """Highest- (or lowest-) point choice for every question of a dimension (None: all)."""
    out = {}
    for q in QUESTIONS:
        if dimension is None or q.dimension == dimension:
            pick = max if high else min
            out[q.code] = pick(q.choices, key=lambda c: c.points).value
    return out


def two_question(w_points: float, c_points: float) -> tuple[Any, dict[str, str]]:
    """One question per dimension with choices worth 0..100 points, so the score equals the points."""
    raw = [
        {
            "code": code,
            "text": f"Question {code}",
            "dimension": dimension,
            "choices": [{"value": str(p), "label": f"{p} points", "points": p} for p in range(101)],
        }
        for code, dimension in (("w", "willingness"), ("c", "capacity"))
    ]
    return questionnaire_parse(raw), {"w": str(int(w_points)), "c": str(int(c_points))}


# --- the default questionnaire ------------------------------------------------------------------
def test_default_questionnaire_is_json_and_covers_both_dimensions():
    assert json.loads(json.dumps(DEFAULT_QUESTIONNAIRE)) == DEFAULT_QUESTIONNAIRE
    assert len(QUESTIONS) == 10
    assert sum(q.dimension == "willingness" for q in QUESTIONS) == 5
    assert sum(q.dimension == "capacity" for q in QUESTIONS) == 5
    assert {"market_fall", "horizon", "emergency_fund", "dependants"} <= {q.code for q in QUESTIONS}


# --- hand-computed scores -----------------------------------------------------------------------
def test_hand_computed_balanced_client_is_capped_by_capacity():
    # Given willingness answers worth 1.5·3 + 2 + 2 + 1 + 2 = 11.5 of 18 and capacity answers worth
    # 2·2 + 2 + 2 + 2 + 1 = 11 of 19
    answers = {
        "market_fall": "hold",
        "trade_off": "c",
        "aim": "balanced",
        "experience": "some",
        "self_view": "willing",
        "horizon": "5to10",
        "income_stability": "stable",
        "emergency_fund": "3to6",
        "share_of_wealth": "25to50",
        "dependants": "one_two",
    }
    result = answers_score(QUESTIONS, answers)
    # Then willingness = 11.5/18 = 63.89, capacity = 11/19 = 57.89, score = the lower one
    assert result.willingness == pytest.approx(100 * 11.5 / 18, rel=1e-12)
    assert result.capacity == pytest.approx(100 * 11 / 19, rel=1e-12)
    assert result.score == result.capacity
    assert result.profile == 3  # 57.89 is in [40, 60)
    assert result.governed_by == "capacity"  # 63.89 − 57.89 = 6.0 > 5
    assert any("follows your capacity (57.8)" in r for r in result.reasons)
    assert result.reasons[-1].endswith("profile 3, Balanced (scores from 40 to 60).")


def test_hand_computed_growth_client_and_weighting():
    # Given buy_more (1.5·4) + d 3 + growth 3 + experienced 2 + willing 2 = 16 of 18 and
    # gt20 (2·4) + growing 3 + gt6 3 + lt25 3 + none 2 = 19 of 19
    answers = {
        "market_fall": "buy_more",
        "trade_off": "d",
        "aim": "growth",
        "experience": "experienced",
        "self_view": "willing",
        **extreme_answers("capacity", high=True),
    }
    result = answers_score(QUESTIONS, answers)
    assert result.willingness == pytest.approx(100 * 16 / 18, rel=1e-12)
    assert result.capacity == pytest.approx(100.0, rel=1e-12)
    assert result.score == pytest.approx(88.888888, rel=1e-6)
    assert result.profile == 5
    assert result.governed_by == "willingness"


def test_weights_scale_each_answer():
    # Given two willingness questions weighted 3 and 1 with choices worth 0 or 1: the weighted
    # range is 0..4, so answering only the heavy one "yes" gives 3/4 = 75 and only the light one 25
    raw = [
        {
            "code": code,
            "text": code,
            "dimension": "willingness",
            "weight": weight,
            "choices": [{"value": "no", "label": "No", "points": 0}, {"value": "yes", "label": "Yes", "points": 1}],
        }
        for code, weight in (("heavy", 3), ("light", 1))
    ] + [
        {
            "code": "cap",
            "text": "cap",
            "dimension": "capacity",
            "choices": [{"value": "lo", "label": "Lo", "points": 0}, {"value": "hi", "label": "Hi", "points": 1}],
        }
    ]
    questions = questionnaire_parse(raw)
    assert answers_score(questions, {"heavy": "yes", "light": "no", "cap": "hi"}).willingness == pytest.approx(75.0)
    assert answers_score(questions, {"heavy": "no", "light": "yes", "cap": "hi"}).willingness == pytest.approx(25.0)


def test_all_lowest_answers_give_profile_1_and_all_highest_profile_5():
    low = answers_score(QUESTIONS, extreme_answers(None, high=False))
    high = answers_score(QUESTIONS, extreme_answers(None, high=True))
    assert (low.willingness, low.capacity, low.score, low.profile) == (0.0, 0.0, 0.0, 1)
    assert (high.willingness, high.capacity, high.score, high.profile) == (100.0, 100.0, 100.0, 5)
    assert low.governed_by == high.governed_by == "both"
    assert PROFILE_NAMES[low.profile] == "Conservative"
    assert PROFILE_NAMES[high.profile] == "Aggressive growth"


def test_capacity_caps_willingness():
    # Given the most risk-seeking attitude but no capacity at all
    answers = {**extreme_answers("willingness", high=True), **extreme_answers("capacity", high=False)}
    result = answers_score(QUESTIONS, answers)
    # Then the profile follows capacity: score 0, profile 1
    assert (result.willingness, result.capacity, result.score, result.profile) == (100.0, 0.0, 0.0, 1)
    assert result.governed_by == "capacity"
    assert "lower than your willingness (100)" in result.reasons[2]


def test_reasons_name_the_strongest_answers_in_plain_words():
    answers = {**extreme_answers("willingness", high=True), **extreme_answers("capacity", high=True)}
    answers["market_fall"] = "buy_more"  # weight 1.5: the strongest willingness answer
    answers["horizon"] = "lt3"  # weight 2, lowest: the strongest capacity answer, pointing to less risk
    result = answers_score(QUESTIONS, answers)
    willingness_reason, capacity_reason = result.reasons[0], result.reasons[1]
    assert willingness_reason.startswith("Your willingness to take risk scores 100 out of 100.")
    assert '"Invest more while prices are low", which points to more risk' in willingness_reason
    assert capacity_reason.startswith("Your capacity to take risk scores 57.8 out of 100.")  # 11/19
    assert '"Within 3 years", which points to less risk' in capacity_reason


# --- bands and governance -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("score", "profile"),
    [(0, 1), (19, 1), (20, 2), (39, 2), (40, 3), (59, 3), (60, 4), (79, 4), (80, 5), (100, 5)],
)
def test_profile_bands_edges_belong_to_the_higher_band(score, profile):
    questions, answers = two_question(score, score)
    assert answers_score(questions, answers).profile == profile


def test_profile_for_score_tolerates_float_noise_on_an_edge():
    assert profile_for_score(39.999999999999996) == 3
    assert profile_for_score(19.9999) == 1


@pytest.mark.parametrize(
    ("w", "c", "governed_by"),
    [(62, 58, "both"), (55, 60, "both"), (63, 57, "capacity"), (40, 46, "willingness"), (70, 70, "both")],
)
def test_governed_by_is_both_within_five_points(w, c, governed_by):
    questions, answers = two_question(w, c)
    result = answers_score(questions, answers)
    assert result.governed_by == governed_by
    assert result.score == min(w, c)


# --- answers errors -----------------------------------------------------------------------------
def test_missing_and_unknown_answers_name_the_question_codes():
    answers = extreme_answers(None, high=True)
    del answers["horizon"]
    answers["market_fall"] = "panic"
    answers["favourite_colour"] = "blue"
    with pytest.raises(ProfilingError) as info:
        answers_score(QUESTIONS, answers)
    assert set(info.value.fields) == {"horizon", "market_fall", "favourite_colour"}
    assert info.value.fields["horizon"] == ["Please answer this question."]
    assert "'panic' is not one of the choices" in info.value.fields["market_fall"][0]


# --- questionnaire validation -------------------------------------------------------------------
def test_malformed_questionnaire_reports_every_field():
    raw = copy.deepcopy(DEFAULT_QUESTIONNAIRE)
    raw[1]["code"] = raw[0]["code"]  # duplicate code
    raw[2]["choices"] = []  # no choices
    raw[3]["dimension"] = "appetite"  # unknown dimension
    raw[4]["choices"][0]["points"] = "three"  # non-numeric points
    raw[5]["choices"][1]["value"] = raw[5]["choices"][0]["value"]  # duplicate choice value
    raw[6]["weight"] = 0  # non-positive weight
    raw[7]["text"] = " "  # blank text
    raw[8]["choices"][0]["points"] = float("nan")
    with pytest.raises(ProfilingError) as info:
        questionnaire_parse(raw)
    assert set(info.value.fields) == {
        "questions[1].code",
        "questions[2].choices",
        "questions[3].dimension",
        "questions[4].choices[0].points",
        "questions[5].choices[1].value",
        "questions[6].weight",
        "questions[7].text",
        "questions[8].choices[0].points",
    }


@pytest.mark.parametrize("raw", [[], None, "questions"])
def test_empty_questionnaire_is_rejected(raw):
    with pytest.raises(ProfilingError) as info:
        questionnaire_parse(raw)
    assert "questions" in info.value.fields


def test_a_dimension_without_spread_is_rejected():
    raw = [q for q in copy.deepcopy(DEFAULT_QUESTIONNAIRE) if q["dimension"] == "willingness"]
    with pytest.raises(ProfilingError) as info:
        questionnaire_parse(raw)
    assert info.value.fields["questions"] == [
        "The questionnaire needs capacity questions whose answers differ in points."
    ]


# --- property: more points never lower the score ----------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(st.integers(min_value=0, max_value=10), min_size=len(QUESTIONS), max_size=len(QUESTIONS)),
    which=st.integers(min_value=0, max_value=len(QUESTIONS) - 1),
)
def test_score_is_monotone_in_each_answers_points(picks, which):
    answers = {q.code: q.choices[i % len(q.choices)].value for q, i in zip(QUESTIONS, picks, strict=True)}
    before = answers_score(QUESTIONS, answers)
    question = QUESTIONS[which]
    current = next(c for c in question.choices if c.value == answers[question.code])
    for better in (c for c in question.choices if c.points > current.points):
        after = answers_score(QUESTIONS, {**answers, question.code: better.value})
        assert after.willingness >= before.willingness
        assert after.capacity >= before.capacity
        assert after.score >= before.score
        assert after.profile >= before.profile
        # and strictly higher on the question's own dimension
        assert getattr(after, question.dimension) > getattr(before, question.dimension)


@pytest.mark.parametrize(
    ("questions", "answers", "field"),
    [
        (QUESTIONS, None, "answers"),
        (QUESTIONS, ["q1"], "answers"),
        (None, {}, "questions"),
        (DEFAULT_QUESTIONNAIRE, {}, "questions"),  # raw JSON, not parsed questions
    ],
)
def test_answers_score_bad_types_are_profiling_errors(questions: Any, answers: Any, field: str) -> None:
    # The module's error with the field named, never an AttributeError from answers.get.
    with pytest.raises(ProfilingError) as err:
        answers_score(questions, answers)
    assert field in err.value.fields
