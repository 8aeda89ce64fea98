"""Monte Carlo VaR/ES of a linear or fully revalued book, simulated in seeded blocks.

Model (docs/risk-methodology.md): scenarios r = μ + F·z with F Fᵀ = Σ (Cholesky of ``cov`` or
of the sample covariance, repaired to the nearest PSD matrix if needed) and z standard normal;
for ``dist="t"`` each scenario is multiplied by √((ν−2)/W), W ~ χ²_ν, a multivariate t with
covariance exactly Σ (a normal variance mixture; McNeil, Frey & Embrechts, QRM). μ = the sample
mean if ``mean`` else 0. Loss = −P&L, the P&L being ``scenarios @ values`` or a full-revaluation
callback's. VaR/ES of the simulated losses follow :mod:`riskapp.engine.tail`.

Block seeding. Scenarios come in fixed blocks of ``MC_BLOCK_SCENARIOS`` (the last one may be
shorter). Block b draws from its own stream, ``default_rng(SeedSequence(seed, spawn_key=(b,)))``:
first the block's χ² mixing variables (``dist="t"``), then its normals, ``chunk_size`` rows at a
time into one reused buffer. The losses are therefore a pure function of (inputs, seed): the
chunk size only bounds memory, and any split of the blocks over processes —
:func:`mc_block_tail` on each part, :func:`mc_merge_tails` / :func:`mc_results` on the parts'
tails — gives the same figures as one process, bit for bit, because the one-process path
(:func:`monte_carlo`, ``var.var_all``) goes through the very same tail reduction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.linalg.blas import dtrmm

from riskapp.engine.covariance import PreparedCov, covariance_prepare, sample_cov
from riskapp.engine.tail import tail_keep, top_losses, var_es_from_top
from riskapp.engine.types import (
    FloatArray,
    Revalue,
    RiskInputError,
    VarResult,
    check_confidence,
    check_dof,
    check_horizon,
    check_positive_int,
    check_returns,
    check_values,
    revalued_pnl,
)

#: Scenarios per seeded block: the unit of work a shard takes. Fixed — never derived from the
#: chunk size or the number of shards — so the scenarios do not depend on either. 20,000 is the
#: default chunk, so by default a block is one draw, one triangular multiply and one P&L product,
#: exactly the single-stream loop's steps (a smaller remainder chunk per block would cost BLAS
#: efficiency); a block's set-up (a SeedSequence and a Generator, ~35 µs) is negligible; and a
#: 1,000,000-scenario run can spread over up to 50 workers (a 100,000-scenario run over 5).
MC_BLOCK_SCENARIOS = 20_000
#: The Monte Carlo methods of ``var.var_all`` and the distribution each simulates.
MC_METHODS: dict[str, str] = {"monte_carlo": "normal", "monte_carlo_t": "t"}
DEFAULT_CHUNK_SIZE = 20_000
DEFAULT_DOF = 5.0


@dataclass(frozen=True)
class McTail:
    """The largest losses of blocks [``block_start``, ``block_stop``) of one simulation, sorted
    ascending (at most ``tail_keep`` of them), and the simulation's details (the same whatever
    the blocks)."""

    losses: FloatArray
    block_start: int
    block_stop: int
    details: dict[str, float]


@dataclass(frozen=True)
class _Simulation:
    """Everything but the random draws: checked settings, the covariance factor, the drift."""

    n: int
    chunk: int
    dist: str
    nu: float
    neg_vals: FloatArray
    factor: FloatArray | None  # None: the history never moved, every loss is ``flat_loss``
    lower: bool
    mu: FloatArray | None  # h-day drift per asset, or None
    mu_loss: float
    revalue: Revalue | None
    flat_loss: float
    details: dict[str, float]


def mc_block_count(n_scenarios: int) -> int:
    """How many seeded blocks ``n_scenarios`` scenarios make."""
    n = check_positive_int(n_scenarios, "n_scenarios")
    return -(-n // MC_BLOCK_SCENARIOS)


def _block_rng(entropy: int, block: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(block,)))


def _entropy(seed: int | np.random.Generator) -> int:
    """The simulation's root seed. A Generator hands over one draw (advancing it), so the same
    generator state still gives the same figures; an integer must be a whole number ≥ 0."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise RiskInputError(f"The seed must be a whole number ≥ 0; got {seed!r}.")
    return int(seed)


def _simulation(
    arr: FloatArray,
    vals: FloatArray,
    *,
    n_scenarios: int,
    dist: str,
    dof: float,
    chunk_size: int,
    cov: npt.ArrayLike | None,
    revalue: Revalue | None,
    mean: bool,
    horizon_days: int,
) -> _Simulation:
    if dist not in ("normal", "t"):
        raise RiskInputError(f"Unknown Monte Carlo distribution {dist!r}; expected 'normal' or 't'.")
    n = check_positive_int(n_scenarios, "n_scenarios")
    chunk = min(check_positive_int(chunk_size, "chunk_size"), n)
    nu = check_dof(dof) if dist == "t" else math.inf
    mu = arr.mean(axis=0) * horizon_days if mean else None
    neg_vals = -vals
    details = {"n_scenarios": float(n), "chunk_size": float(chunk), "block_scenarios": float(MC_BLOCK_SCENARIOS)}
    if cov is None and not np.any(np.ptp(arr, axis=0)):
        # A history that never moved has a zero covariance: every scenario is the drift (or no
        # move at all), exactly as historical simulation sees it. (A user-supplied all-zero
        # matrix, on the other hand, is rejected by covariance_prepare as a mistake.)
        row = np.zeros((1, vals.size)) if mu is None else mu[None, :]
        loss = -float(revalued_pnl(revalue, row)[0]) if revalue is not None else -float(row[0] @ vals)
        return _Simulation(
            n, chunk, dist, nu, neg_vals, None, False, mu, 0.0, revalue, loss, {**details, "flat_history": 1.0}
        )
    prepared = covariance_prepare(sample_cov(arr) if cov is None else cov, vals.size, factor=True)
    details["cov_repaired"] = float(prepared.repaired)
    if dist == "t":
        details["dof"] = nu
    mu_loss = float(mu @ neg_vals) if mu is not None else 0.0
    factor = _scaled_factor(prepared, horizon_days)
    return _Simulation(
        n, chunk, dist, nu, neg_vals, factor, prepared.factor_is_lower, mu, mu_loss, revalue, 0.0, details
    )


def _losses(sim: _Simulation, entropy: int, block_start: int, block_stop: int) -> FloatArray:
    """The losses of blocks [block_start, block_stop), in scenario order."""
    first = block_start * MC_BLOCK_SCENARIOS
    last = min(block_stop * MC_BLOCK_SCENARIOS, sim.n)
    losses = np.empty(last - first)
    if sim.factor is None:
        losses.fill(sim.flat_loss)
        return losses
    chunk = min(sim.chunk, MC_BLOCK_SCENARIOS)
    buffer = np.empty((chunk, sim.neg_vals.size))
    product = None if sim.lower else np.empty_like(buffer)
    for block in range(block_start, block_stop):
        begin = block * MC_BLOCK_SCENARIOS - first
        end = min((block + 1) * MC_BLOCK_SCENARIOS, sim.n) - first
        rng = _block_rng(entropy, block)
        # The block's mixing variables first and all at once, so the normal stream that follows
        # is the same whatever the chunk size.
        row_scale = np.sqrt((sim.nu - 2.0) / rng.chisquare(sim.nu, end - begin)) if sim.dist == "t" else None
        for start in range(begin, end, chunk):
            stop = min(start + chunk, end)
            z = buffer[: stop - start]
            rng.standard_normal(out=z)
            scenarios = _correlate(z, sim.factor, sim.lower, product)
            segment = losses[start:stop]
            scale = row_scale[start - begin : stop - begin] if row_scale is not None else None
            if sim.revalue is None:
                np.matmul(scenarios, sim.neg_vals, out=segment)
                if scale is not None:
                    segment *= scale
                segment += sim.mu_loss
            else:
                if scale is not None:
                    scenarios *= scale[:, None]
                if sim.mu is not None:
                    scenarios += sim.mu
                segment[:] = -revalued_pnl(sim.revalue, scenarios)
    return losses


def _scaled_factor(prepared: PreparedCov, horizon_days: int) -> FloatArray:
    """The covariance factor, Fortran-ordered when triangular (BLAS trmm wants it so), × √h."""
    assert prepared.factor is not None  # covariance_prepare(factor=True) always sets it
    factor = prepared.factor * math.sqrt(horizon_days) if horizon_days != 1 else prepared.factor
    return np.asfortranarray(factor) if prepared.factor_is_lower else factor


def _correlate(z: FloatArray, factor: FloatArray, lower: bool, product: FloatArray | None) -> FloatArray:
    """Rows of ``z`` mapped to F·z_i, i.e. Z Fᵀ; in place in ``z`` when F is lower triangular.

    A triangular multiply (BLAS dtrmm) does half the flops of a general matmul and needs no
    second buffer. ``z`` (k × N, C order) seen as Fortran is Zᵀ (N × k); Zᵀ ← F·Zᵀ in place.
    """
    if lower:
        out = dtrmm(1.0, factor, z.T, side=0, lower=1, trans_a=0, diag=0, overwrite_b=1)
        return np.asarray(out, dtype=np.float64).T
    assert product is not None
    target = product[: z.shape[0]]
    np.matmul(z, factor.T, out=target)
    return target


def _horizon_scale(horizon_method: str, h: int) -> float:
    if horizon_method == "sqrt":
        return math.sqrt(h)
    if horizon_method == "simulate":
        return 1.0
    raise RiskInputError(f"Unknown horizon method {horizon_method!r}; expected 'sqrt' or 'simulate'.")


def _book(returns: npt.ArrayLike, values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    arr = check_returns(returns, min_rows=2)
    return arr, check_values(values, arr.shape[1])


def _block_range(block_start: int, block_stop: int, n_blocks: int) -> tuple[int, int]:
    start, stop = int(block_start), int(block_stop)
    if (start, stop) != (block_start, block_stop) or not 0 <= start < stop <= n_blocks:
        raise RiskInputError(f"Blocks [{block_start}, {block_stop}) are not a range within the {n_blocks} blocks.")
    return start, stop


# ---------------------------------------------------------------------------- one process


def monte_carlo(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    n_scenarios: int = 100_000,
    dist: str = "normal",
    dof: float = DEFAULT_DOF,
    seed: int | np.random.Generator = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    cov: npt.ArrayLike | None = None,
    revalue: Revalue | None = None,
    mean: bool = False,
    horizon_method: str = "sqrt",
) -> VarResult:
    """Monte Carlo VaR/ES from simulated multivariate normal or Student-t daily returns.

    See the module docstring for the model and the block seeding. The P&L is linear
    (``scenarios @ values``) unless ``revalue`` is given (full revaluation, called once per
    chunk). ``chunk_size`` rows are simulated at a time into one reused buffer, so memory is
    ``chunk_size × N`` floats (plus the n losses) whatever ``n_scenarios`` is; the figures do not
    depend on it. ``horizon_method="sqrt"`` (default) scales the 1-day figures by √h;
    ``"simulate"`` draws h-day returns (Σ·h, μ·h) directly, which only differs from √h scaling
    for non-linear books.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    arr, vals = _book(returns, values)
    scale = _horizon_scale(horizon_method, h)
    sim = _simulation(
        arr,
        vals,
        n_scenarios=n_scenarios,
        dist=dist,
        dof=dof,
        chunk_size=chunk_size,
        cov=cov,
        revalue=revalue,
        mean=mean,
        horizon_days=h if horizon_method == "simulate" else 1,
    )
    n_blocks = mc_block_count(sim.n)
    losses = _losses(sim, _entropy(seed), 0, n_blocks)
    top = top_losses(losses, tail_keep(sim.n, [c]))
    var1, es1 = var_es_from_top(top, sim.n, c)
    method = "monte_carlo_t" if dist == "t" else "monte_carlo"
    return VarResult(method, c, h, var1 * scale + 0.0, es1 * scale + 0.0, sim.details)


def mc_var_all(
    arr: FloatArray,
    vals: FloatArray,
    method: str,
    confidences: Sequence[float],
    horizons: Sequence[int],
    *,
    seed: int,
    n_scenarios: int,
    kw: Mapping[str, Any],
) -> list[VarResult]:
    """``var.var_all``'s Monte Carlo: every block in this process, then :func:`mc_results` —
    exactly what a run split into shards computes (one tail, merged)."""
    horizon_method = kw.get("horizon_method", "sqrt")
    _horizon_scale(horizon_method, 1)  # validate before simulating
    n_blocks = mc_block_count(n_scenarios)
    # One simulation serves every horizon under √h scaling; "simulate" needs one per horizon.
    simulated = list(horizons) if horizon_method == "simulate" else [1]
    tails = {
        h: [
            mc_block_tail(
                arr,
                vals,
                method=method,
                confidences=confidences,
                n_scenarios=n_scenarios,
                block_start=0,
                block_stop=n_blocks,
                seed=seed,
                horizon_days=h,
                **kw,
            )
        ]
        for h in simulated
    }
    return mc_results(method, confidences, horizons, tails, n_scenarios=n_scenarios, horizon_method=horizon_method)


# ---------------------------------------------------------------------------- shards


def mc_block_tail(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    method: str,
    confidences: Iterable[float],
    n_scenarios: int,
    block_start: int,
    block_stop: int,
    seed: int = 0,
    horizon_days: int = 1,
    **kw: Any,
) -> McTail:
    """The largest losses of blocks [``block_start``, ``block_stop``) of the simulation that
    ``var.var_all`` runs for ``method`` ("monte_carlo" or "monte_carlo_t") with ``seed`` and
    ``n_scenarios``: the ``tail.tail_keep(n_scenarios, confidences)`` largest (fewer if the blocks
    hold fewer), sorted ascending. ``horizon_days`` is the horizon *simulated*: 1 under √h
    scaling, h under ``horizon_method="simulate"``. ``kw`` takes ``var_all``'s options (``cov``,
    ``mean``, ``dof``, ``chunk_size``, ``revalue``; others are ignored).

    The tails of any partition of the blocks, merged by :func:`mc_merge_tails`, hold the
    ``tail_keep`` largest of all n losses — the largest of a union are among the largest of its
    parts — so the merged figures equal the one-process ones.
    """
    if method not in MC_METHODS:
        raise RiskInputError(f"Unknown Monte Carlo method {method!r}; expected one of {', '.join(MC_METHODS)}.")
    cs = [check_confidence(c) for c in confidences]
    arr, vals = _book(returns, values)
    sim = _simulation(
        arr,
        vals,
        n_scenarios=n_scenarios,
        dist=MC_METHODS[method],
        dof=kw.get("dof") or DEFAULT_DOF,
        chunk_size=kw.get("chunk_size", DEFAULT_CHUNK_SIZE),
        cov=kw.get("cov"),
        revalue=kw.get("revalue"),
        mean=bool(kw.get("mean", False)),
        horizon_days=check_horizon(horizon_days),
    )
    start, stop = _block_range(block_start, block_stop, mc_block_count(sim.n))
    losses = _losses(sim, _entropy(seed), start, stop)
    return McTail(top_losses(losses, tail_keep(sim.n, cs)), start, stop, sim.details)


def mc_merge_tails(
    tails: Iterable[npt.ArrayLike], n_scenarios: int, confidences: Iterable[float]
) -> list[tuple[float, float]]:
    """(VaR, ES) at each confidence, in order, of the n = ``n_scenarios`` losses whose shards
    sent ``tails`` (each its largest losses, as :func:`mc_block_tail` gives them).

    VaR equals ``np.quantile`` on the full loss vector bit for bit; ES equals the one-process
    figure bit for bit and :func:`tail.var_es_from_losses` to summation rounding (see
    :func:`tail.var_es_from_top`). Raises ``RiskInputError`` if the tails are too short or hold
    more losses than scenarios (a shard missing or counted twice).
    """
    n = check_positive_int(n_scenarios, "n_scenarios")
    cs = [check_confidence(c) for c in confidences]
    keep = tail_keep(n, cs)
    parts = [np.asarray(t, dtype=np.float64).reshape(-1) for t in tails]
    pooled = np.concatenate(parts) if parts else np.empty(0)
    if not keep <= pooled.size <= n:
        raise RiskInputError(f"The shards sent {pooled.size} tail losses; {keep} to {n} are needed.")
    if not np.all(np.isfinite(pooled)):
        raise RiskInputError("Scenario losses must be finite.")
    top = top_losses(pooled, keep)
    return [var_es_from_top(top, n, c) for c in cs]


def mc_results(
    method: str,
    confidences: Sequence[float],
    horizons: Sequence[int],
    tails: Mapping[int, Sequence[McTail]],
    *,
    n_scenarios: int,
    horizon_method: str = "sqrt",
) -> list[VarResult]:
    """One ``VarResult`` per confidence × horizon (in that order, as ``var.var_all``) from the
    tails of a simulation's shards, keyed by the horizon simulated (``{1: tails}`` under √h
    scaling; one entry per horizon under "simulate"). The shards must cover every block once."""
    _horizon_scale(horizon_method, 1)  # validate
    simulate = horizon_method == "simulate"
    n_blocks = mc_block_count(n_scenarios)
    figures: dict[int, tuple[list[tuple[float, float]], dict[str, float]]] = {}
    for h, parts in tails.items():
        covered = sorted((t.block_start, t.block_stop) for t in parts)
        if [b for r in covered for b in range(*r)] != list(range(n_blocks)):
            raise RiskInputError(f"The shards cover blocks {covered}, not each of the {n_blocks} blocks once.")
        figures[h] = (mc_merge_tails([t.losses for t in parts], n_scenarios, confidences), parts[0].details)
    out: list[VarResult] = []
    for i, c in enumerate(confidences):
        for h in horizons:
            merged, details = figures[h if simulate else 1]
            var1, es1 = merged[i]
            scale = 1.0 if simulate else math.sqrt(h)
            out.append(VarResult(method, c, h, var1 * scale + 0.0, es1 * scale + 0.0, details))
    return out
