"""The risk questionnaire and the client's risk profile (engine: ``wealth.engine.profiling``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from audit.services import audit_record, inputs_hash_of
from wealth.engine.profiling import (
    DEFAULT_QUESTIONNAIRE,
    PROFILE_NAMES,
    ProfilingError,
    answers_score,
    questionnaire_parse,
)
from wealth.models import Client, Questionnaire, QuestionnaireResponse, RiskProfile
from wealth.services._common import engine_failed, fail

QUESTIONNAIRE_TITLE = "Risk profile questionnaire"


def questionnaire_current() -> Questionnaire | None:
    """The newest active questionnaire, or None when there is none yet. Never writes."""
    return Questionnaire.objects.filter(is_active=True).order_by("-version").first()


def questionnaire_shown(*, create: bool) -> Questionnaire | None:
    """The questionnaire to show: with ``create`` (a user about to answer it) the active one,
    version 1 being created when there is none; without (a read-only user, whose read must not
    write) the current one or None."""
    return questionnaire_active() if create else questionnaire_current()


def questionnaire_active() -> Questionnaire:
    """The newest active questionnaire; version 1 (``DEFAULT_QUESTIONNAIRE``) is created when
    there is none, so a fresh installation can profile clients at once."""
    found = questionnaire_current()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            questionnaire, created = Questionnaire.objects.get_or_create(
                version=1, defaults={"title": QUESTIONNAIRE_TITLE, "questions": DEFAULT_QUESTIONNAIRE}
            )
            if created:
                audit_record(
                    action="wealth.questionnaire.create", obj=questionnaire, after={"version": 1, "default": True}
                )
    except IntegrityError:  # created concurrently
        questionnaire = Questionnaire.objects.get(version=1)
    return questionnaire


def profile_submit(
    *, actor: User | None, client: Client, answers: dict[str, str], questionnaire: Questionnaire | None = None
) -> RiskProfile:
    """Score ``answers`` (``{question code: choice value}``) and store the response with the new
    profile, which becomes the client's current one. Field errors are keyed by question code."""
    if not isinstance(answers, dict):
        raise fail("The answers must be an object of question code to choice.", {"answers": "Expected an object."})
    questionnaire = questionnaire or questionnaire_active()
    try:
        questions = questionnaire_parse(questionnaire.questions)
        result = answers_score(questions, answers)
    except ProfilingError as exc:
        raise engine_failed(exc, "Please answer every question with one of its choices.") from exc
    clean: dict[str, Any] = {str(k): v for k, v in answers.items()}
    with transaction.atomic():
        response = QuestionnaireResponse.objects.create(
            client=client, questionnaire=questionnaire, answers=clean, submitted_by=actor
        )
        profile = RiskProfile.objects.create(
            client=client,
            response=response,
            willingness=result.willingness,
            capacity=result.capacity,
            score=result.score,
            profile=result.profile,
            explanation=list(result.reasons),
        )
        audit_record(
            action="wealth.profile.submit",
            actor=actor,
            obj=profile,
            after={
                "client": client.code,
                "profile": result.profile,
                "name": PROFILE_NAMES.get(result.profile, ""),
                "willingness": result.willingness,
                "capacity": result.capacity,
                "score": result.score,
                "governed_by": result.governed_by,
            },
            parameters={"questionnaire_version": questionnaire.version},
            inputs_hash=inputs_hash_of({"answers": clean, "questionnaire": questionnaire.version}),
            explanation=list(result.reasons),
        )
    return profile
