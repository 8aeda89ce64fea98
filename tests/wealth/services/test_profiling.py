"""Questionnaire version 1 and profile submission."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from tests.factories import ClientFactory
from tests.wealth.services.helpers import answers_at, counts
from wealth.engine.profiling import DEFAULT_QUESTIONNAIRE
from wealth.models import Questionnaire, QuestionnaireResponse, RiskProfile
from wealth.selectors import profile_current
from wealth.services import profile_submit, questionnaire_active


@pytest.mark.django_db
def test_questionnaire_v1_is_created_once():
    first = questionnaire_active()
    assert first.version == 1 and first.questions == DEFAULT_QUESTIONNAIRE
    assert questionnaire_active().pk == first.pk
    assert Questionnaire.objects.count() == 1


@pytest.mark.django_db
def test_most_cautious_answers_give_profile_1_and_boldest_profile_5(advisor):
    # Scores are rescaled 0–100 between the least and most points possible (engine contract), so
    # all-lowest answers score 0 (profile 1) and all-highest 100 (profile 5).
    client = ClientFactory(advisor=advisor)
    low = profile_submit(actor=advisor, client=client, answers=answers_at(0))
    high = profile_submit(actor=advisor, client=client, answers=answers_at(9))
    assert (low.profile, low.score) == (1, 0.0)
    assert (high.profile, high.score) == (5, 100.0)
    assert profile_current(client) == high
    event = AuditEvent.objects.filter(action="wealth.profile.submit").latest("id")
    assert event.explanation == high.explanation and event.explanation


@pytest.mark.django_db
def test_missing_and_unknown_answers_are_field_errors_and_nothing_is_stored(advisor):
    client = ClientFactory(advisor=advisor)
    answers = answers_at(1)
    first = DEFAULT_QUESTIONNAIRE[0]["code"]
    del answers[first]
    answers["shoe_size"] = "42"
    questionnaire_active()
    before = counts(QuestionnaireResponse, RiskProfile, AuditEvent)
    with pytest.raises(ValidationFailed) as err:
        profile_submit(actor=advisor, client=client, answers=answers)
    assert {first, "shoe_size"} <= set(err.value.extra["fields"])
    assert counts(QuestionnaireResponse, RiskProfile, AuditEvent) == before
