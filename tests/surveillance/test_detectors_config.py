"""Detector parameters: effective values, supervisor-only changes, field errors, versions and audit."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.errors import NotFound, PermissionDenied, ValidationFailed
from surveillance import services
from surveillance.engine.detectors import DETECTORS
from surveillance.models import RULE_SCENARIOS, DetectorConfig

pytestmark = pytest.mark.django_db

SCENARIO = "spoofing"


def _param():
    """The first declared parameter of the scenario, and an in-range value other than its default."""
    p = DETECTORS[SCENARIO].params[0]
    value = (p.minimum + p.maximum) / 2
    value = float(int(value)) if p.integer else value
    assert value != p.default
    return p, value


def test_given_nothing_stored_then_every_rule_detector_runs_enabled_on_its_defaults():
    settings = services.detector_config_list()

    assert [s.scenario for s in settings] == list(DETECTORS)
    assert {s.scenario for s in settings} == {str(s) for s in RULE_SCENARIOS}
    for s in settings:
        assert s.enabled and s.version == 0 and s.parameters == DETECTORS[s.scenario].defaults()
    assert services.detector_parameters_effective() == {k: spec.defaults() for k, spec in DETECTORS.items()}
    assert services.detectors_enabled() == list(DETECTORS)


def test_given_supervisor_change_then_stored_versioned_audited_and_effective(supervisor):
    p, value = _param()

    setting = services.detector_config_update(scenario=SCENARIO, parameters={p.name: value}, user=supervisor)

    assert setting.version == 1 and setting.parameters[p.name] == value and setting.updated_by == "supervisor"
    config = DetectorConfig.objects.get(scenario=SCENARIO)
    assert config.parameters == {p.name: value}  # only what was set: other names follow the defaults
    event = AuditEvent.objects.get(action="surveillance.detector.update")
    assert event.before == {"enabled": True, "parameters": {}, "version": 0}
    assert event.after == {"enabled": True, "parameters": {p.name: value}, "version": 1}
    assert services.detector_parameters_effective()[SCENARIO] == DETECTORS[SCENARIO].defaults() | {p.name: value}


def test_given_second_change_then_version_two_with_before_and_after(supervisor):
    p, value = _param()
    services.detector_config_update(scenario=SCENARIO, parameters={p.name: value}, user=supervisor)

    setting = services.detector_config_update(scenario=SCENARIO, enabled=False, user=supervisor)

    assert setting.version == 2 and not setting.enabled
    event = AuditEvent.objects.filter(action="surveillance.detector.update").order_by("-id").first()
    assert event.before["enabled"] is True and event.after["enabled"] is False
    assert event.before["version"] == 1 and event.after["version"] == 2
    assert SCENARIO not in services.detectors_enabled()


def test_given_no_change_then_nothing_written(supervisor):
    p, value = _param()
    services.detector_config_update(scenario=SCENARIO, parameters={p.name: value}, user=supervisor)

    setting = services.detector_config_update(scenario=SCENARIO, parameters={p.name: value}, user=supervisor)

    assert setting.version == 1
    assert AuditEvent.objects.filter(action="surveillance.detector.update").count() == 1


def test_given_null_value_then_the_default_is_restored(supervisor):
    p, value = _param()
    services.detector_config_update(scenario=SCENARIO, parameters={p.name: value}, user=supervisor)

    setting = services.detector_config_update(scenario=SCENARIO, parameters={p.name: None}, user=supervisor)

    assert setting.parameters[p.name] == p.default and setting.overrides == {} and setting.version == 2


def test_given_bad_parameters_then_one_field_error_per_name_and_nothing_written(supervisor):
    p = DETECTORS[SCENARIO].params[0]
    q = DETECTORS[SCENARIO].params[1]

    with pytest.raises(ValidationFailed) as err:
        services.detector_config_update(
            scenario=SCENARIO,
            parameters={p.name: p.maximum * 10 + 1, q.name: "lots", "no_such_param": 1},
            user=supervisor,
        )

    fields = err.value.extra["fields"]
    assert set(fields) == {p.name, q.name, "no_such_param"}
    assert "between" in fields[p.name][0].lower() and "number" in fields[q.name][0].lower()
    assert not DetectorConfig.objects.exists()
    assert not AuditEvent.objects.filter(action="surveillance.detector.update").exists()


@pytest.mark.parametrize("who", ["analyst", "auditor"])
def test_given_analyst_or_auditor_then_refused(who, request):
    user = request.getfixturevalue(who)
    p, value = _param()

    with pytest.raises(PermissionDenied):
        services.detector_config_update(scenario=SCENARIO, parameters={p.name: value}, user=user)
    assert not DetectorConfig.objects.exists()


def test_given_unknown_scenario_then_not_found(supervisor):
    with pytest.raises(NotFound):
        services.detector_config_update(scenario="anomaly", parameters={}, user=supervisor)
    with pytest.raises(NotFound):
        services.detector_config_get(scenario="nope")


def test_given_stored_value_out_of_new_bounds_then_default_used_for_it_only(supervisor):
    p = DETECTORS[SCENARIO].params[0]
    q = DETECTORS[SCENARIO].params[1]
    DetectorConfig.objects.create(scenario=SCENARIO, parameters={p.name: p.maximum * 10 + 1, q.name: q.minimum})

    effective = services.detector_parameters_effective()[SCENARIO]

    assert effective[p.name] == p.default and effective[q.name] == q.minimum
