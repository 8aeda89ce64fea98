"""Risk profiling: a versioned questionnaire scored on two dimensions.

*Willingness* is how much risk the client is comfortable taking (reaction to a fall, preferred
trade-off, experience); *capacity* is how much risk their finances can carry (horizon, income,
emergency fund, share of wealth, dependants). Each dimension is the weighted sum of the points of
its answers, rescaled to 0–100 between the lowest and the highest sum the questionnaire allows.
The combined score is the lower of the two: capacity caps willingness (and a client is never
pushed past what they are comfortable with). Profiles are bands of 20 points, a score on an edge
belonging to the higher band: [0, 20) → 1, [20, 40) → 2, [40, 60) → 3, [60, 80) → 4, [80, 100] → 5.
See docs/wealth-methodology.md, "Risk profiling".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

Dimension = Literal["willingness", "capacity"]
DIMENSIONS: tuple[Dimension, ...] = ("willingness", "capacity")

PROFILE_NAMES: dict[int, str] = {
    1: "Conservative",
    2: "Moderately conservative",
    3: "Balanced",
    4: "Growth",
    5: "Aggressive growth",
}

BAND_WIDTH = 20.0  # score points per profile band
# Willingness and capacity closer than this (in score points, inclusive) both govern the profile.
GOVERNED_BOTH_WITHIN = 5.0
# How many answers per dimension the reasons name.
_STRONGEST_PER_DIMENSION = 2


class ProfilingError(ValueError):
    """A malformed questionnaire or incomplete answers; ``fields`` maps a field to its messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: dict[str, list[str]] = {key: list(messages) for key, messages in fields.items()}
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in self.fields.items()))


@dataclass(frozen=True)
class Choice:
    """One possible answer; ``points`` is higher for answers pointing to more risk."""

    value: str
    label: str
    points: float


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    dimension: Dimension
    choices: tuple[Choice, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class ProfileResult:
    """Willingness and capacity on 0–100, score = min of the two, profile 1..5 and the reasons
    (sentences the client reads). ``governed_by`` is "willingness", "capacity" or "both"."""

    willingness: float
    capacity: float
    score: float
    profile: int
    governed_by: str
    reasons: tuple[str, ...]


def _q(
    code: str, text: str, dimension: Dimension, choices: list[tuple[str, str, float]], weight: float = 1.0
) -> dict[str, Any]:
    return {
        "code": code,
        "text": text,
        "dimension": dimension,
        "weight": weight,
        "choices": [{"value": value, "label": label, "points": points} for value, label, points in choices],
    }


# Version 1. Points run from 0 (least risk) upwards; the reaction to a fall and the horizon weigh
# more because they are the best single predictors of each dimension.
DEFAULT_QUESTIONNAIRE: list[dict[str, Any]] = [
    _q(
        "market_fall",
        "Imagine your investments lost 20 % of their value over a few months. What would you most likely do?",
        "willingness",
        [
            ("sell_all", "Sell everything to avoid further losses", 0),
            ("sell_some", "Sell some of my investments", 1),
            ("hold", "Hold on and wait for prices to recover", 3),
            ("buy_more", "Invest more while prices are low", 4),
        ],
        weight=1.5,
    ),
    _q(
        "trade_off",
        "Which of these portfolios would you choose, given how it might do in a good and in a bad year?",
        "willingness",
        [
            ("a", "Gain of up to 5 % in a good year, loss of up to 2 % in a bad year", 0),
            ("b", "Gain of up to 10 % in a good year, loss of up to 8 % in a bad year", 1),
            ("c", "Gain of up to 18 % in a good year, loss of up to 16 % in a bad year", 2),
            ("d", "Gain of up to 28 % in a good year, loss of up to 30 % in a bad year", 3),
        ],
    ),
    _q(
        "aim",
        "Which statement best describes what you want from this money?",
        "willingness",
        [
            ("preserve", "Keep it safe, even if it barely grows", 0),
            ("income", "Steady income with a little growth", 1),
            ("balanced", "A balance of growth and stability", 2),
            ("growth", "Growth, accepting ups and downs along the way", 3),
            ("max_growth", "As much growth as possible, accepting large swings", 4),
        ],
    ),
    _q(
        "experience",
        "How much experience do you have with investments whose value goes up and down, such as shares or funds?",
        "willingness",
        [
            ("none", "None: I have only used savings accounts", 0),
            ("some", "Some: I have held funds or shares for a few years", 1),
            ("experienced", "A lot: I have invested for many years, through at least one market crash", 2),
        ],
    ),
    _q(
        "self_view",
        "How would your closest friend describe you as a risk taker?",
        "willingness",
        [
            ("avoider", "Someone who avoids risk", 0),
            ("cautious", "Cautious", 1),
            ("willing", "Willing to take risks after careful thought", 2),
            ("seeker", "A real risk taker", 3),
        ],
    ),
    _q(
        "horizon",
        "When do you expect to need most of this money?",
        "capacity",
        [
            ("lt3", "Within 3 years", 0),
            ("3to5", "In 3 to 5 years", 1),
            ("5to10", "In 5 to 10 years", 2),
            ("10to20", "In 10 to 20 years", 3),
            ("gt20", "In more than 20 years", 4),
        ],
        weight=2.0,
    ),
    _q(
        "income_stability",
        "How secure is your income over the next five years?",
        "capacity",
        [
            ("none", "I have no regular income or expect to lose it", 0),
            ("uncertain", "Uncertain: it varies a lot or my job is at risk", 1),
            ("stable", "Stable", 2),
            ("growing", "Very secure and likely to grow", 3),
        ],
    ),
    _q(
        "emergency_fund",
        "Apart from this money, how many months of living costs could you cover from cash savings?",
        "capacity",
        [
            ("none", "Less than one month", 0),
            ("lt3", "One to three months", 1),
            ("3to6", "Three to six months", 2),
            ("gt6", "More than six months", 3),
        ],
    ),
    _q(
        "share_of_wealth",
        "What share of everything you own (excluding your home) is this money?",
        "capacity",
        [
            ("gt75", "More than three quarters", 0),
            ("50to75", "Between half and three quarters", 1),
            ("25to50", "Between a quarter and a half", 2),
            ("lt25", "Less than a quarter", 3),
        ],
    ),
    _q(
        "dependants",
        "How many people depend on you financially?",
        "capacity",
        [
            ("three_plus", "Three or more", 0),
            ("one_two", "One or two", 1),
            ("none", "No one", 2),
        ],
    ),
]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(item: Mapping[str, Any], key: str, where: str, errors: dict[str, list[str]]) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        errors.setdefault(f"{where}.{key}", []).append(f"{key.capitalize()} must be a non-empty text.")
        return ""
    return value.strip()


def _choices_parse(raw: object, where: str, errors: dict[str, list[str]]) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        errors.setdefault(f"{where}.choices", []).append("A question needs a list of at least two choices.")
        return ()
    choices: list[Choice] = []
    seen: set[str] = set()
    for j, item in enumerate(raw):
        at = f"{where}.choices[{j}]"
        if not isinstance(item, Mapping):
            errors.setdefault(at, []).append("A choice must be an object with value, label and points.")
            continue
        value = _text(item, "value", at, errors)
        label = _text(item, "label", at, errors)
        points = item.get("points")
        if not _is_number(points):
            errors.setdefault(f"{at}.points", []).append(f"Points must be a finite number; got {points!r}.")
        if value and value in seen:
            errors.setdefault(f"{at}.value", []).append(f"Choice value {value!r} appears twice in this question.")
        seen.add(value)
        if value and label and _is_number(points):
            choices.append(Choice(value=value, label=label, points=float(cast(float, points))))
    return tuple(choices)


def questionnaire_parse(questions: list[dict[str, Any]]) -> tuple[Question, ...]:
    """Validate a stored questionnaire (the JSON of ``Questionnaire.questions``) into questions.

    Every problem is reported at once, keyed ``questions[i].field`` (``questions`` for the whole
    list): missing or duplicate codes, unknown dimensions, fewer than two choices, duplicate choice
    values, non-numeric points, non-positive weights, a dimension without questions or whose
    answers cannot differ in points (its 0–100 scale would be undefined)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(questions, list) or not questions:
        raise ProfilingError({"questions": ["The questionnaire must be a non-empty list of questions."]})
    parsed: list[Question] = []
    codes: set[str] = set()
    for i, item in enumerate(questions):
        where = f"questions[{i}]"
        if not isinstance(item, Mapping):
            errors.setdefault(where, []).append("A question must be an object.")
            continue
        code = _text(item, "code", where, errors)
        if code and code in codes:
            errors.setdefault(f"{where}.code", []).append(f"Question code {code!r} is used more than once.")
        codes.add(code)
        text = _text(item, "text", where, errors)
        dimension = item.get("dimension")
        if dimension not in DIMENSIONS:
            errors.setdefault(f"{where}.dimension", []).append(
                f"Dimension must be 'willingness' or 'capacity'; got {dimension!r}."
            )
        weight = item.get("weight", 1.0)
        if not _is_number(weight) or float(weight) <= 0.0:
            errors.setdefault(f"{where}.weight", []).append(f"Weight must be a positive number; got {weight!r}.")
        choices = _choices_parse(item.get("choices"), where, errors)
        if code and text and dimension in DIMENSIONS and len(choices) >= 2 and f"{where}.weight" not in errors:
            parsed.append(
                Question(
                    code=code,
                    text=text,
                    dimension=cast(Dimension, dimension),
                    choices=choices,
                    weight=float(weight),
                )
            )
    if not errors:
        for dimension in DIMENSIONS:
            low, high = _bounds([q for q in parsed if q.dimension == dimension])
            if high <= low:
                errors.setdefault("questions", []).append(
                    f"The questionnaire needs {dimension} questions whose answers differ in points."
                )
    if errors:
        raise ProfilingError(errors)
    return tuple(parsed)


def _bounds(questions: Sequence[Question]) -> tuple[float, float]:
    """Lowest and highest weighted points the questions allow."""
    low = sum(q.weight * min(c.points for c in q.choices) for q in questions)
    high = sum(q.weight * max(c.points for c in q.choices) for q in questions)
    return low, high


def profile_for_score(score: float) -> int:
    """Band of 20 points; an edge belongs to the higher band (20 → 2) and 100 → 5. The score is
    rounded to 9 decimals first so that 40 computed as 39.999999999999996 stays on its edge."""
    return min(5, max(1, math.floor(round(score, 9) / BAND_WIDTH) + 1))


def _shown(value: float) -> str:
    """A score as the client sees it: rounded down to one decimal, so 39.96 shows as 39.9 (band 2)
    rather than 40."""
    return f"{math.floor(round(value, 9) * 10) / 10:g}"


def _position(question: Question, choice: Choice) -> float:
    """Where a choice sits between the question's least (0) and most (1) risky answers."""
    points = [c.points for c in question.choices]
    spread = max(points) - min(points)
    return 0.5 if spread == 0 else (choice.points - min(points)) / spread


def _dimension_reason(dimension: Dimension, scaled: float, picked: list[tuple[Question, Choice]]) -> str:
    title = "Your willingness to take risk" if dimension == "willingness" else "Your capacity to take risk"
    # The strongest answers are those that pull furthest from the middle, weighted like the score.
    ranked = sorted(picked, key=lambda qc: -qc[0].weight * abs(_position(*qc) - 0.5))
    parts: list[str] = []
    for question, choice in ranked[:_STRONGEST_PER_DIMENSION]:
        position = _position(question, choice)
        if position > 0.5:
            direction = "which points to more risk"
        elif position < 0.5:
            direction = "which points to less risk"
        else:
            direction = "which sits in the middle"
        parts.append(f'to "{question.text}" you answered "{choice.label}", {direction}')
    return f"{title} scores {_shown(scaled)} out of 100. What weighed most: " + "; ".join(parts) + "."


def _governing_reason(willingness: float, capacity: float, governed_by: str) -> str:
    if governed_by == "capacity":
        return (
            f"Your profile follows your capacity ({_shown(capacity)}), which is lower than your willingness "
            f"({_shown(willingness)}): we do not recommend taking more risk than your finances can carry, "
            "even if you are comfortable with it."
        )
    if governed_by == "willingness":
        return (
            f"Your profile follows your willingness ({_shown(willingness)}), which is lower than your capacity "
            f"({_shown(capacity)}): your finances could carry more risk, but we do not recommend more than you "
            "are comfortable with."
        )
    return (
        f"Your willingness ({_shown(willingness)}) and your capacity ({_shown(capacity)}) are close, so both point "
        "to the same level of risk; the profile uses the lower of the two."
    )


def answers_score(questions: Sequence[Question], answers: Mapping[str, str]) -> ProfileResult:
    """Score a client's answers (``{question code: choice value}``) against parsed questions.

    Raises ProfilingError with one field per question code that is unanswered, answered with a
    value that is not one of its choices, or not in the questionnaire at all."""
    if not isinstance(answers, Mapping):
        message = f"Answers must map question codes to choices; got {type(answers).__name__}."
        raise ProfilingError({"answers": [message]})
    if (
        not isinstance(questions, Sequence)
        or isinstance(questions, str | bytes)
        or not all(isinstance(q, Question) for q in questions)
    ):
        raise ProfilingError({"questions": ["Questions must be parsed questions (see questionnaire_parse)."]})
    by_code = {q.code: q for q in questions}
    errors: dict[str, list[str]] = {}
    picked: dict[str, Choice] = {}
    for question in questions:
        value = answers.get(question.code)
        if value is None or value == "":
            errors.setdefault(question.code, []).append("Please answer this question.")
            continue
        choice = next((c for c in question.choices if isinstance(value, str) and c.value == value), None)
        if choice is None:
            allowed = ", ".join(c.value for c in question.choices)
            errors.setdefault(question.code, []).append(f"{value!r} is not one of the choices ({allowed}).")
            continue
        picked[question.code] = choice
    for code in answers:
        if code not in by_code:
            errors.setdefault(str(code), []).append("This is not a question of this questionnaire.")
    if errors:
        raise ProfilingError(errors)

    scaled: dict[Dimension, float] = {}
    for dimension in DIMENSIONS:
        members = [q for q in questions if q.dimension == dimension]
        low, high = _bounds(members)
        if high <= low:
            raise ProfilingError(
                {"questions": [f"The questionnaire needs {dimension} questions whose answers differ in points."]}
            )
        total = sum(q.weight * picked[q.code].points for q in members)
        scaled[dimension] = 100.0 * (total - low) / (high - low)

    willingness, capacity = scaled["willingness"], scaled["capacity"]
    score = min(willingness, capacity)
    profile = profile_for_score(score)
    if abs(willingness - capacity) <= GOVERNED_BOTH_WITHIN:
        governed_by = "both"
    else:
        governed_by = "willingness" if willingness < capacity else "capacity"
    reasons = (
        *(
            _dimension_reason(d, scaled[d], [(q, picked[q.code]) for q in questions if q.dimension == d])
            for d in DIMENSIONS
        ),
        _governing_reason(willingness, capacity, governed_by),
        f"Your overall score is {_shown(score)} out of 100, which places you in profile {profile}, "
        f"{PROFILE_NAMES[profile]} (scores from {BAND_WIDTH * (profile - 1):.0f} to {BAND_WIDTH * profile:.0f}).",
    )
    return ProfileResult(
        willingness=willingness,
        capacity=capacity,
        score=score,
        profile=profile,
        governed_by=governed_by,
        reasons=reasons,
    )
