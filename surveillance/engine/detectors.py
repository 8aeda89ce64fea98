"""The registry of rule-based detectors and one entry point that runs them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from surveillance.engine import (
    front_running,
    insider_dealing,
    layering,
    marking_close,
    pump_dump,
    spoofing,
    wash_trades,
)
from surveillance.engine.grouping import detections_group
from surveillance.engine.params import DetectorSpec, params_clean
from surveillance.engine.types import Detection, SurveillanceData

DETECTORS: dict[str, DetectorSpec] = {
    spec.scenario: spec
    for spec in (
        spoofing.SPEC,
        layering.SPEC,
        wash_trades.SPEC,
        marking_close.SPEC,
        insider_dealing.SPEC,
        pump_dump.SPEC,
        front_running.SPEC,
    )
}


def detect_all(
    data: SurveillanceData,
    *,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    scenarios: list[str] | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> list[Detection]:
    """Run the chosen detectors (all by default) with cleaned parameters and group the output.

    ``parameters`` maps a scenario to its (partial) parameter values; missing ones take the
    defaults. ``progress(percent, message)`` is called after each detector.
    """
    parameters = parameters or {}
    chosen = scenarios or list(DETECTORS)
    out: list[Detection] = []
    for k, scenario in enumerate(chosen):
        spec = DETECTORS[scenario]
        out.extend(spec.run(data, params_clean(spec, parameters.get(scenario))))
        if progress is not None:
            progress(int(100 * (k + 1) / len(chosen)), f"{spec.title} done")
    return detections_group(out)
