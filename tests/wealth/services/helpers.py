"""Small builders shared by the wealth service tests."""

from __future__ import annotations

from wealth.engine.profiling import DEFAULT_QUESTIONNAIRE


def answers_at(level: int) -> dict[str, str]:
    """Every question answered with its ``level``-th least risky choice (0 = most cautious)."""
    out = {}
    for q in DEFAULT_QUESTIONNAIRE:
        choices = sorted(q["choices"], key=lambda c: c["points"])
        out[q["code"]] = choices[min(level, len(choices) - 1)]["value"]
    return out


def counts(*models) -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in models}
