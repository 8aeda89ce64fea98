"""Monte Carlo in seeded blocks (riskapp.engine.montecarlo) and the tail merge (riskapp.engine.tail).

Properties and their sources:
- Block b's scenarios are drawn from ``default_rng(SeedSequence(seed, spawn_key=(b,)))`` (the
  documented seeding, docs/risk-methodology.md), so they can be reproduced from numpy alone.
- Any split of the blocks over shards, each sending its largest losses, merges to exactly the
  one-process VaR and ES for the same seed (hypothesis over splits).
- Merged tails give numpy's default linear quantile of the full loss vector bit for bit and
  the mean of its ceil(n(1−c)) largest to rounding (ARCHITECTURE.md conventions; tail.py).
- ``tail_keep`` covers numpy's quantile indices: lo = ⌊(n−1)c⌋ (numpy ``_quantile``, method
  "linear") lies among the ``tail_keep`` largest.
- A normal book's sharded Monte Carlo VaR is the closed form z_c·σ_p (QRM ch. 2) within 5 standard
  errors √(c(1−c)/n)/f(q) of the quantile (Serfling 1980, §2.3).
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from riskapp.engine import montecarlo as M
from riskapp.engine import var as V
from riskapp.engine.tail import tail_count, tail_keep, top_losses, var_es_from_losses, var_es_from_top
from riskapp.engine.types import RiskInputError

B = M.MC_BLOCK_SCENARIOS
CONFIDENCES = (0.95, 0.975, 0.99)


def _book(seed: int = 3, t: int = 500, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    returns = rng.standard_normal((t, n)) @ (rng.normal(size=(n, n)) * 0.01).T
    return returns, rng.uniform(-2e5, 1e6, n)


def _splits(n_blocks: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = sorted({0, n_blocks, *[c % n_blocks for c in cuts]})
    return list(pairwise(bounds))


# ---------------------------------------------------------------------------- block seeding


@pytest.mark.parametrize("dist", ["normal", "t"])
def test_each_block_draws_from_its_own_spawned_stream(dist: str) -> None:
    """A one-asset book with σ = 2 % and $1m: loss_i = −1e6 · σ · s_i · z_i, where block b's
    s (t only: √((ν−2)/W), W ~ χ²_ν, drawn first) and z come from SeedSequence(seed, spawn_key=(b,))."""
    sigma, value, seed, n = 0.02, 1e6, 11, B + 700
    returns = np.random.default_rng(0).standard_normal((50, 1))
    sim = M._simulation(
        returns,
        np.array([value]),
        n_scenarios=n,
        dist=dist,
        dof=5.0,
        chunk_size=999,
        cov=[[sigma**2]],
        revalue=None,
        mean=False,
        horizon_days=1,
    )
    losses = M._losses(sim, seed, 0, 2)
    for block, size in ((0, B), (1, 700)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
        scale = np.sqrt(3.0 / rng.chisquare(5.0, size)) if dist == "t" else 1.0
        expected = -value * sigma * rng.standard_normal(size) * scale
        np.testing.assert_allclose(losses[block * B : block * B + size], expected, rtol=1e-12)


def test_more_scenarios_keep_the_first_blocks_and_a_shard_sees_only_its_own() -> None:
    returns, values = _book()
    sim = {
        n: M._simulation(
            returns,
            values,
            n_scenarios=n,
            dist="t",
            dof=4.0,
            chunk_size=4_000,
            cov=None,
            revalue=None,
            mean=True,
            horizon_days=1,
        )
        for n in (2 * B, 3 * B + 5)
    }
    short, long = M._losses(sim[2 * B], 7, 0, 2), M._losses(sim[3 * B + 5], 7, 0, 4)
    assert np.array_equal(short, long[: 2 * B])
    assert np.array_equal(M._losses(sim[3 * B + 5], 7, 1, 3), long[B : 3 * B])


def test_a_generator_seed_hands_over_one_draw() -> None:
    """Same generator state → same figures; the generator moves on, as any consumer of it would."""
    returns, values = _book()
    a = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=5_000, seed=np.random.default_rng(5))
    b = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=5_000, seed=np.random.default_rng(5))
    assert (a.var, a.es) == (b.var, b.es)
    gen = np.random.default_rng(5)
    first = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=5_000, seed=gen)
    second = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=5_000, seed=gen)
    assert first.var != second.var
    with pytest.raises(RiskInputError, match="seed"):
        V.monte_carlo(returns, values, confidence=0.99, n_scenarios=5_000, seed=-1)


# ---------------------------------------------------------------------------- shards = one process


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(B + 1, 4 * B),
    cuts=st.lists(st.integers(0, 100), max_size=6),
    method=st.sampled_from(["monte_carlo", "monte_carlo_t"]),
    confidences=st.lists(st.sampled_from([0.9, 0.95, 0.975, 0.99, 0.995, 0.999]), min_size=1, max_size=4, unique=True),
)
def test_any_split_of_the_blocks_merges_to_exactly_the_one_process_figures(
    seed: int, n: int, cuts: list[int], method: str, confidences: list[float]
) -> None:
    returns, values = _book(n=3)
    horizons = [1, 10]
    one = V.var_all(
        returns, values, methods=[method], confidences=confidences, horizons=horizons, seed=seed, n_scenarios=n
    )
    n_blocks = M.mc_block_count(n)
    tails = [
        M.mc_block_tail(
            returns,
            values,
            method=method,
            confidences=confidences,
            n_scenarios=n,
            block_start=a,
            block_stop=b,
            seed=seed,
            chunk_size=7_777,  # memory only: any chunk size gives the same scenarios
        )
        for a, b in _splits(n_blocks, cuts)
    ]
    sharded = M.mc_results(method, confidences, horizons, {1: tails[::-1]}, n_scenarios=n)
    assert [(r.method, r.confidence, r.horizon_days, r.var, r.es) for r in sharded] == [
        (r.method, r.confidence, r.horizon_days, r.var, r.es) for r in one
    ]
    # The details record the chunk size (memory), and nothing else differs.
    assert all({**r.details, "chunk_size": 0} == {**one[0].details, "chunk_size": 0} for r in sharded)


def test_shards_of_a_fully_revalued_book_merge_to_the_one_process_figures() -> None:
    """The same holds when a callback reprices the book (here a short straddle-like −v·|r|)."""
    returns, _ = _book(n=1)
    revalue = lambda r: -1e6 * np.abs(r[:, 0])  # noqa: E731
    n = 3 * B
    one = V.monte_carlo(returns, [0.0], confidence=0.99, n_scenarios=n, seed=2, revalue=revalue)
    tails = [
        M.mc_block_tail(
            returns, [0.0], method="monte_carlo", confidences=[0.99], n_scenarios=n, block_start=a, block_stop=a + 1,
            seed=2, revalue=revalue,
        )
        for a in range(3)
    ]  # fmt: skip
    assert M.mc_merge_tails([t.losses for t in tails], n, [0.99]) == [(one.var, one.es)]


def test_a_normal_book_sharded_still_meets_the_closed_form() -> None:
    """Hull's two-asset example ($10m at 2 %, $5m at 1 %, ρ = 0.3): σ_p = $220,227; 99 % VaR
    = 2.326·σ_p ≈ $512,300 (Hull, *Risk Management and Financial Institutions*, ch. 15)."""
    vols, corr = np.array([0.02, 0.01]), np.array([[1.0, 0.3], [0.3, 1.0]])
    cov, values = corr * np.outer(vols, vols), np.array([10e6, 5e6])
    returns = np.random.default_rng(1).standard_normal((300, 2))
    n, c = 8 * B, 0.99
    tails = [
        M.mc_block_tail(returns, values, method="monte_carlo", confidences=[c], n_scenarios=n,
                        block_start=a, block_stop=a + 2, seed=42, cov=cov)
        for a in range(0, 8, 2)
    ]  # fmt: skip
    ((var, es),) = M.mc_merge_tails([t.losses for t in tails], n, [c])
    sigma = math.sqrt(values @ cov @ values)
    q = stats.norm.ppf(c)
    se = math.sqrt(c * (1 - c) / n) / stats.norm.pdf(q) * sigma
    assert var == pytest.approx(q * sigma, abs=5 * se)
    assert es == pytest.approx(sigma * stats.norm.pdf(q) / (1 - c), rel=0.02)


def test_shards_that_miss_or_repeat_a_block_are_refused() -> None:
    returns, values = _book()
    n = 3 * B

    def tail(a: int, b: int) -> M.McTail:
        return M.mc_block_tail(
            returns, values, method="monte_carlo", confidences=[0.99], n_scenarios=n, block_start=a, block_stop=b
        )

    with pytest.raises(RiskInputError, match="cover blocks"):
        M.mc_results("monte_carlo", [0.99], [1], {1: [tail(0, 1), tail(2, 3)]}, n_scenarios=n)
    with pytest.raises(RiskInputError, match="cover blocks"):
        M.mc_results("monte_carlo", [0.99], [1], {1: [tail(0, 2), tail(1, 3)]}, n_scenarios=n)
    with pytest.raises(RiskInputError, match="not a range"):
        tail(2, 4)
    with pytest.raises(RiskInputError, match="tail losses"):
        M.mc_merge_tails([np.ones(5)], n, [0.99])


# ---------------------------------------------------------------------------- the tail merge


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 3_000),
    confidences=st.lists(st.floats(0.5, 0.999), min_size=1, max_size=3),
    discrete=st.booleans(),
)
def test_merged_tails_give_the_full_vector_figures(data, n: int, confidences: list[float], discrete: bool) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # Ties (a discrete loss distribution) and negative losses included.
    losses = rng.integers(-5, 6, n).astype(float) if discrete else rng.standard_t(3, n) * 1e4 - 2e3
    cuts = sorted(set(data.draw(st.lists(st.integers(0, n), max_size=5))) | {0, n})
    keep = tail_keep(n, confidences)
    tails = [top_losses(losses[a:b], keep) for a, b in pairwise(cuts)]
    merged = M.mc_merge_tails(tails, n, confidences)
    for c, (var, es) in zip(confidences, merged, strict=True):
        full_var, full_es = var_es_from_losses(losses, c)
        assert var == full_var  # numpy's linear quantile, bit for bit
        assert es == pytest.approx(full_es, rel=1e-12, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 10**9), c=st.floats(0.5, 1 - 1e-6))
def test_tail_keep_covers_the_quantile_indices_and_the_es_tail(n: int, c: float) -> None:
    keep = tail_keep(n, [c])
    lo = math.floor((n - 1) * c)  # numpy's previous index for method="linear"
    assert n - lo <= keep and tail_count(n, c) <= keep <= max(n, 1)
    assert keep <= math.ceil(n * (1 - c)) + 2


def test_a_tail_too_short_for_the_confidence_is_refused() -> None:
    losses = np.arange(1000.0)
    with pytest.raises(RiskInputError, match="too short"):
        var_es_from_top(top_losses(losses, 5), 1000, 0.95)
