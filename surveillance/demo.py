"""The surveillance demo: a small generated market with labelled abuse, one sweep, a review history.

``surveillance_demo_load`` generates a seeded market with ``surveillance.engine.scenarios``
(background flow of market makers, proprietary traders, clients and employees plus at least two
labelled episodes of each of the seven abuses), moves it to start on the first Tuesday after the
newest order event already in the database (so it follows the ``load_demo`` days), and writes
it through the ingestion pipeline like ``portfolios.demo`` does (``validate_rows`` +
``write_batch`` per chunk, one audit event per chunk) onto its own desk. Then it runs one
surveillance sweep in this process, simulates a review history through the workflow services
(``surveillance.demo_review``) and ranks the open alerts by the learned action likelihood.

Idempotent: the options and the chosen start are recorded in the audit trail when loading
begins (``demo.surveillance``), and completion too (``demo.surveillance.done``). A finished
load is not repeated; an interrupted one is completed with the same start (re-sent rows are
no-ops, the sweep merges into the alerts it already raised, only alerts nobody touched yet are
reviewed). See docs/demo-data.md.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models import Max

from audit.models import AuditEvent
from audit.services import audit_record
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.roles import Role
from core.services import run_execute
from portfolios.demo import DemoResult, _Loader
from portfolios.models import Desk, OrderEvent
from surveillance import services
from surveillance.demo_review import Reviewers, alerts_matched, review_history_simulate
from surveillance.demo_rows import ENTITIES, PREFIX, market_rows
from surveillance.engine.scenarios import GeneratedMarket, market_generate
from surveillance.models import Alert

__all__ = [
    "DEMO_DESK",
    "PREFIX",
    "SurveillanceDemoResult",
    "demo_market",
    "market_rows",
    "surveillance_demo_load",
]

Log = Callable[[str], None]

DEMO_DESK = ("SIM", "Simulated market (surveillance demo)")
DEFAULT_SEED = 20230103
DEFAULT_DAYS = 5
DEFAULT_INSTRUMENTS = 5
MAX_DAYS = 10  # 10 sessions × 10 instruments ≈ 160,000 order events: still under a minute
MAX_INSTRUMENTS = 10
# A third of the generator's default order rate: ~1,800 order events per instrument-session,
# enough background for the detectors' baselines while the demo loads in seconds.
ACTIVITY = 0.33
# One episode of each abuse per five instrument-sessions (at least 2, at most 20): denser than
# the evaluation's one per eight, so a small market still yields the ~50 alerts a review
# history needs for the action-likelihood model to train on (30 decisions at least).
SESSIONS_PER_EPISODE = 5
GENERATOR_START = date(2024, 1, 2)  # first session of every generated market (a Tuesday)
FIRST_START = date(2023, 1, 3)  # start on an empty database (a Tuesday)
START_ACTION = "demo.surveillance"
DONE_ACTION = "demo.surveillance.done"
RUN_WAIT_S = 600  # how long to wait for a worker that picked the sweep up first


@dataclass
class SurveillanceDemoResult:
    """What a load did: rows per entity (received, created), the sweep, alerts per state."""

    options: dict[str, int]
    start: date
    already_loaded: bool = False
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    episodes: int = 0
    run_id: int | None = None
    alerts_by_state: dict[str, int] = field(default_factory=dict)
    alerts_by_outcome: dict[str, int] = field(default_factory=dict)
    matched_alerts: int = 0
    ranking: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def options_check(*, seed: int, days: int, instruments: int) -> dict[str, int]:
    """The options as recorded, or ``ValidationFailed`` naming each bad one."""
    errors: dict[str, list[str]] = {}
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = [f"Between 1 and {MAX_DAYS}."]
    if not 1 <= instruments <= MAX_INSTRUMENTS:
        errors["instruments"] = [f"Between 1 and {MAX_INSTRUMENTS}."]
    if not 0 <= seed < 2**32:
        errors["seed"] = ["Between 0 and 4294967295."]
    if errors:
        text = "; ".join(f"--{k}: {v[0]}" for k, v in errors.items())
        raise ValidationFailed(f"Invalid options: {text}", extra={"fields": errors})
    return {"seed": seed, "days": days, "instruments": instruments}


def demo_market(*, seed: int, days: int, instruments: int) -> GeneratedMarket:
    """The demo's generated market: prices calibrated on skfolio's S&P 500 closes when the
    data set loads (a random walk otherwise), at least two episodes of each abuse."""
    try:
        from skfolio.datasets import load_sp500_dataset  # heavy: only when the demo is generated

        closes: np.ndarray | None = load_sp500_dataset().to_numpy(dtype=float)
    except Exception:  # noqa: BLE001 - without the data set the generator's random walk is used
        closes = None
    return market_generate(
        seed=seed,
        days=days,
        instruments=instruments,
        episodes_per_scenario=int(np.clip(round(days * instruments / SESSIONS_PER_EPISODE), 2, 20)),
        closes=closes,
        activity=ACTIVITY,
    )


def _first_tuesday_after(day: date) -> date:
    return day + timedelta(days=(1 - day.weekday()) % 7 or 7)


def _start_choose() -> date:
    newest = OrderEvent.objects.aggregate(m=Max("ts"))["m"]
    return FIRST_START if newest is None else _first_tuesday_after(newest.astimezone(UTC).date())


def _recorded(action: str) -> dict[str, Any] | None:
    params = AuditEvent.objects.filter(action=action).order_by("-id").values_list("parameters", flat=True).first()
    return params if isinstance(params, dict) else None


@contextmanager
def _settings_held(**values: Any) -> Iterator[None]:
    """Override some settings for the duration of a block (restored even on error)."""
    previous = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(settings, name, value)


# While the market loads, the ingestion follow-ups are held back: the demo sweeps the whole
# window once at the end, and a run per committed chunk would analyse half-loaded data (order
# events whose trades are not in yet) and raise alerts the full data does not support. Best
# execution is left out too: the demo's TCA story is load_demo's algo orders, and these
# simulated orders are not calibrated for it.
FOLLOWUPS_OFF = {"SURVEILLANCE_INCREMENTAL": False, "TCA_INCREMENTAL": False}
# The review history is simulated: the in-app notifications it leaves are part of the story,
# but nobody should be e-mailed about decisions nobody made.
EMAIL_OFF = {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}


def _reviewers(desk: Desk, log: Log) -> Reviewers:
    """The demo's compliance users (``load_demo`` creates them; here they are created without a
    usable password if missing) on the demo desk, with the auditor and the other staff roles
    that ``load_demo`` puts on every desk."""
    users = {}
    for role in (Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR):
        user, created = User.objects.get_or_create(username=role.value, defaults={"is_active": True})
        if created:
            user.set_unusable_password()
            user.save()
            log(f"  created user {role.value} (no password: run load_demo to set one)")
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        users[role] = user
    staff = [r.value for r in Role if r != Role.WEALTH_ADVISOR]
    desk.members.add(*User.objects.filter(username__in=staff))
    return Reviewers(analyst=users[Role.COMPLIANCE_ANALYST], supervisor=users[Role.COMPLIANCE_SUPERVISOR])


def _sweep(*, user: User, since: datetime, until: datetime, log: Log) -> CalculationRun:
    """One sweep over the demo window, finished before returning.

    Without a broker the task runs eagerly when the run is created; with one, the run is
    executed here under the run's lease (``core.services.run_execute``), so the demo needs no
    worker. If a worker took it first, we wait for that worker.
    """
    run = services.surveillance_sweep_create(user=user, since=since, until=until)
    run.refresh_from_db()
    if not run.is_finished:
        run_execute(
            run_id=run.pk,
            task=None,
            body=lambda r, report: services.surveillance_run_execute(run=r, progress=report),
        )
        deadline = time.monotonic() + RUN_WAIT_S
        run.refresh_from_db()
        while not run.is_finished and time.monotonic() < deadline:
            time.sleep(1.0)
            run.refresh_from_db()
    if run.status != CalculationRun.Status.SUCCEEDED:
        raise ValidationFailed(f"The demo sweep (run {run.pk}) did not succeed: {run.error or run.status}.")
    result = run.result
    log(
        f"  sweep run {run.pk}: {result.get('inputs', {}).get('order_events', 0):,} order events, "
        f"{result.get('alerts_created', 0)} alerts raised"
    )
    return run


def _summary(result: SurveillanceDemoResult, desk: Desk) -> None:
    alerts = Alert.objects.filter(desk=desk)
    result.alerts_by_state = dict(Counter(alerts.values_list("state", flat=True)))
    result.alerts_by_outcome = dict(Counter(alerts.exclude(outcome="").values_list("outcome", flat=True)))


def surveillance_demo_load(
    *, user: User, seed: int, days: int, instruments: int, log: Log = print
) -> SurveillanceDemoResult:
    """Load the surveillance demo (see the module docstring); a finished load is not repeated.

    ``user`` is the acting user of every batch and of the sweep (``load_demo`` uses the admin
    superuser). Raises ``ValidationFailed`` for bad options, or when the database holds the
    demo loaded with other options.
    """
    started = time.perf_counter()
    options = options_check(seed=seed, days=days, instruments=instruments)
    for action in (DONE_ACTION, START_ACTION):
        recorded = _recorded(action)
        if recorded is not None and recorded.get("options") != options:
            loaded = recorded.get("options") or {}
            raise ValidationFailed(
                "This database already holds the surveillance demo loaded with other options "
                f"(seed {loaded.get('seed')}, {loaded.get('days')} days, {loaded.get('instruments')} instruments); "
                "run surveillance_demo_setup with those options, or load into an empty database.",
                extra={"loaded": loaded, "requested": options},
            )
        if recorded is not None and action == DONE_ACTION:
            result = SurveillanceDemoResult(
                options=options, start=date.fromisoformat(recorded["start"]), already_loaded=True
            )
            _summary(result, Desk.objects.get(code=DEMO_DESK[0]))
            return result
    begun = _recorded(START_ACTION)
    start = date.fromisoformat(begun["start"]) if begun else _start_choose()
    if begun is None:
        audit_record(
            action=START_ACTION,
            actor=user,
            object_repr="surveillance demo",
            parameters={"options": options, "start": start.isoformat()},
        )
    shift_days = (start - GENERATOR_START).days
    result = SurveillanceDemoResult(options=options, start=start)
    gen = demo_market(**options)
    result.episodes = len(gen.episodes)
    log(
        f"Surveillance demo market (seed {seed}, {days} sessions × {instruments} instruments from {start}): "
        f"{len(gen.data.orders):,} order events, {len(gen.episodes)} labelled abuse episodes"
    )
    rows = market_rows(gen, shift_days=shift_days, desk_code=DEMO_DESK[0])
    loaded = DemoResult()
    loader = _Loader(user, log, loaded)
    with _settings_held(**FOLLOWUPS_OFF):
        loader.send("desks", [{"code": DEMO_DESK[0], "name": DEMO_DESK[1]}])
        desk = Desk.objects.get(code=DEMO_DESK[0])
        who = _reviewers(desk, log)
        for entity in ENTITIES:
            loader.send(entity, rows[entity])
    result.counts = loaded.counts
    # The window: midnight before the first session to midnight after the last one.
    last_session = date(1970, 1, 1) + timedelta(days=int(gen.data.bars.day.max()) + shift_days)
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(last_session + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    run = _sweep(user=user, since=since, until=until, log=log)
    result.run_id = run.pk
    alerts = list(
        Alert.objects.filter(desk=desk, state=Alert.State.NEW, transitions__isnull=True)
        .select_related("account", "instrument")
        .order_by("pk")
    )
    matched = alerts_matched(alerts, gen, shift_days=shift_days)
    result.matched_alerts = len(matched)
    log(f"  {len(alerts)} alerts to review, {len(matched)} of them on labelled abuse")
    with _settings_held(**EMAIL_OFF):
        review_history_simulate(alerts=alerts, matched=matched, who=who, seed=seed, log=log)
    result.ranking = services.alerts_rank()
    reason = result.ranking.get("reason")
    log(
        f"  action likelihood: {result.ranking.get('scored', 0)} open alerts scored"
        + (f" ({reason})" if reason else f", trained on {result.ranking.get('trained_on', 0)} decisions")
    )
    _summary(result, desk)
    result.seconds = time.perf_counter() - started
    audit_record(
        action=DONE_ACTION,
        actor=user,
        obj=run,
        parameters={
            "options": options,
            "start": start.isoformat(),
            "alerts_by_state": result.alerts_by_state,
            "ranking": result.ranking,
        },
    )
    return result
