"""Detector parameters: declared once with their default, bounds and unit, checked in one place.

A supervisor edits parameters in the browser or the API; whatever arrives is cleaned here, so
every detector sees complete, in-range values and a bad value is answered field by field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from surveillance.engine.types import Detection, SurveillanceData, SurveillanceInputError


class ParameterError(SurveillanceInputError):
    """Bad detector parameters; ``errors`` maps each parameter name to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Param:
    """One tunable number of a detector. ``unit`` is shown beside the field (``s``, ``×``, ...)."""

    name: str
    default: float
    minimum: float
    maximum: float
    unit: str
    help: str
    integer: bool = False


Run = Callable[[SurveillanceData, Mapping[str, float]], list[Detection]]


@dataclass(frozen=True)
class DetectorSpec:
    """A documented detector: its scenario code, title, parameters, the function that runs it
    and the rules it is anchored in (quoted in docs/surveillance-methodology.md)."""

    scenario: str
    title: str
    params: tuple[Param, ...]
    run: Run
    references: tuple[str, ...]

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}


def params_clean(spec: DetectorSpec, values: Mapping[str, Any] | None) -> dict[str, float]:
    """Complete ``values`` with the defaults and check every one; raises ``ParameterError``
    naming each bad field (unknown names, non-numbers, out of bounds, fractions for counts)."""
    values = dict(values or {})
    known = {p.name: p for p in spec.params}
    errors: dict[str, str] = {}
    for name in values:
        if name not in known:
            errors[str(name)] = f"Unknown parameter for {spec.scenario}; expected one of {', '.join(known)}."
    cleaned: dict[str, float] = {}
    for name, p in known.items():
        raw = values.get(name, p.default)
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            errors[name] = "Must be a number."
            continue
        try:
            number = float(raw)
        except ValueError:
            errors[name] = "Must be a number."
            continue
        if not math.isfinite(number):
            errors[name] = "Must be a finite number."
        elif p.integer and number != int(number):
            errors[name] = "Must be a whole number."
        elif not p.minimum <= number <= p.maximum:
            errors[name] = f"Must be between {p.minimum:g} and {p.maximum:g} {p.unit}.".replace(" .", ".")
        else:
            cleaned[name] = float(int(number)) if p.integer else number
    if errors:
        raise ParameterError(errors)
    return cleaned
