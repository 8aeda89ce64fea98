"""Detector parameters: what each rule detector runs with, and the supervisor's changes to it.

Each rule scenario runs with the engine's documented defaults (``DetectorSpec.defaults()``)
overlaid by the stored ``DetectorConfig.parameters`` (only the names a supervisor set are
stored, so an improved default reaches every detector nobody tuned). Every change is checked by
``surveillance.engine.params.params_clean``, raises the version and is audited with before/after.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from audit.services import audit_record
from core.errors import NotFound, ValidationFailed
from surveillance.engine.params import DetectorSpec, Param, ParameterError, params_clean
from surveillance.models import DetectorConfig
from surveillance.services.workflow import supervisor_check

logger = logging.getLogger(__name__)


def _registry() -> dict[str, DetectorSpec]:
    from surveillance.engine.detectors import DETECTORS

    return DETECTORS


@dataclass(frozen=True)
class DetectorSetting:
    """One rule detector as configured: effective parameters (defaults overlaid by the stored
    ones), the parameter declarations (bounds, units, help), and who changed it last."""

    scenario: str
    title: str
    enabled: bool
    version: int
    parameters: dict[str, float]
    defaults: dict[str, float]
    overrides: dict[str, Any]
    params: tuple[Param, ...]
    references: tuple[str, ...]
    updated_by: str
    updated_at: datetime | None


def _effective(spec: DetectorSpec, stored: Mapping[str, Any] | None) -> dict[str, float]:
    """Cleaned parameters; a stored value the engine no longer accepts (bounds tightened in a new
    release) falls back to its default with an error in the log, so one stale value does not
    stop every detector of the nightly sweep."""
    stored = dict(stored or {})
    try:
        return params_clean(spec, stored)
    except ParameterError as exc:
        logger.error("Stored parameters of %s rejected, defaults used for: %s", spec.scenario, exc.errors)
        return params_clean(spec, {k: v for k, v in stored.items() if k not in exc.errors})


def _setting(spec: DetectorSpec, config: DetectorConfig | None) -> DetectorSetting:
    return DetectorSetting(
        scenario=spec.scenario,
        title=spec.title,
        enabled=config.enabled if config else True,
        version=config.version if config else 0,
        parameters=_effective(spec, config.parameters if config else None),
        defaults=spec.defaults(),
        overrides=dict(config.parameters) if config else {},
        params=spec.params,
        references=spec.references,
        updated_by=config.updated_by.get_username() if config and config.updated_by else "",
        updated_at=config.updated_at if config else None,
    )


def detector_config_list() -> list[DetectorSetting]:
    """Every rule detector in registry order; version 0 means it has never been changed."""
    configs = {c.scenario: c for c in DetectorConfig.objects.select_related("updated_by")}
    return [_setting(spec, configs.get(scenario)) for scenario, spec in _registry().items()]


def detector_config_get(*, scenario: str) -> DetectorSetting:
    """One rule detector's setting; ``NotFound`` for an unknown scenario."""
    spec = _registry().get(scenario)
    if spec is None:
        raise NotFound("Not found.")
    config = DetectorConfig.objects.select_related("updated_by").filter(scenario=scenario).first()
    return _setting(spec, config)


def detector_parameters_effective() -> dict[str, dict[str, float]]:
    """The parameters every rule detector runs with, by scenario (enabled or not)."""
    return {s.scenario: s.parameters for s in detector_config_list()}


def detectors_enabled() -> list[str]:
    """The scenarios a detection run executes (all but those a supervisor switched off)."""
    return [s.scenario for s in detector_config_list() if s.enabled]


def detector_config_update(
    *, scenario: str, parameters: Mapping[str, Any] | None = None, enabled: bool | None = None, user: User
) -> DetectorSetting:
    """Change a detector's parameters and/or switch it on or off (compliance supervisors only).

    ``parameters`` is partial: names given replace the stored ones, ``None`` as a value restores
    the default, names not given keep their value. Bad values raise ``ValidationFailed`` whose
    ``fields`` map each parameter name to its problem. A request that changes nothing writes
    nothing; otherwise the version goes up by one and the audit event holds before and after.
    """
    supervisor_check(user, action="change detector parameters")
    spec = _registry().get(scenario)
    if spec is None:
        raise NotFound("Not found.")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ValidationFailed("Parameters: give an object.", extra={"fields": {"parameters": ["Give an object."]}})
    with transaction.atomic():
        config = DetectorConfig.objects.select_for_update().filter(scenario=scenario).first()
        stored = dict(config.parameters) if config else {}
        merged = dict(stored)
        for name, value in (parameters or {}).items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        try:
            cleaned = params_clean(spec, merged)
        except ParameterError as exc:
            fields = {name: [message] for name, message in exc.errors.items()}
            raise ValidationFailed(f"Invalid parameters for {scenario}.", extra={"fields": fields}) from None
        new_parameters = {name: cleaned[name] for name in merged}
        new_enabled = (config.enabled if config else True) if enabled is None else bool(enabled)
        before = {
            "enabled": config.enabled if config else True,
            "parameters": stored,
            "version": config.version if config else 0,
        }
        if new_parameters == stored and new_enabled == before["enabled"]:
            return _setting(spec, config)
        if config is None:
            config = DetectorConfig(scenario=scenario, version=1)
        else:
            config.version += 1
        config.parameters = new_parameters
        config.enabled = new_enabled
        config.updated_by = user
        config.save()
        audit_record(
            action="surveillance.detector.update",
            actor=user,
            obj=config,
            before=before,
            after={"enabled": config.enabled, "parameters": new_parameters, "version": config.version},
            parameters={"effective": cleaned},
        )
    return _setting(spec, config)
