"""Black–Scholes–Merton prices and Greeks, delta-gamma VaR and full revaluation.

Published figures are from J. C. Hull, *Options, Futures, and Other Derivatives* (worked examples
of the Black–Scholes–Merton chapter, the options-on-indices chapter and the Greek-letters chapter).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from riskapp.engine import options
from riskapp.engine.options import OptionBook, bs_greeks, bs_price, delta_gamma_moments, delta_gamma_var, revalue_book
from riskapp.engine.types import RiskInputError

spots = st.floats(min_value=5.0, max_value=500.0)
strikes = st.floats(min_value=5.0, max_value=500.0)
times = st.floats(min_value=0.02, max_value=3.0)
vols = st.floats(min_value=0.05, max_value=1.0)
rates = st.floats(min_value=-0.01, max_value=0.10)
yields_ = st.floats(min_value=0.0, max_value=0.06)
rights = st.sampled_from(["call", "put"])


# --- Published worked examples -------------------------------------------------------------------


def test_given_hull_bsm_example_when_priced_then_call_476_and_put_081():
    """Hull, BSM chapter worked example: S0=42, K=40, r=10%, σ=20%, T=0.5 → c=4.76, p=0.81."""
    assert round(bs_price(42, 40, 0.5, 0.20, 0.10, right="call"), 2) == 4.76
    assert round(bs_price(42, 40, 0.5, 0.20, 0.10, right="put"), 2) == 0.81


def test_given_hull_greeks_running_example_when_greeks_then_published_values():
    """Hull, "The Greek Letters": S0=49, K=50, r=5%, σ=20%, T=20 weeks (0.3846 y) call:
    price 2.40 (per share), Δ=0.522, Γ=0.066, vega=12.1 (per 1.00 of vol), Θ=−4.31 per year
    (−0.0118 per calendar day), ρ=8.91."""
    g = bs_greeks(49, 50, 20 / 52, 0.20, 0.05, right="call")
    assert round(g["price"], 2) == 2.40
    assert round(g["delta"], 3) == 0.522
    assert round(g["gamma"], 3) == 0.066
    assert round(g["vega"], 1) == 12.1
    assert round(g["vega_per_point"], 3) == 0.121
    assert round(g["theta"], 2) == -4.31
    assert round(g["theta_per_day"], 4) == -0.0118
    assert round(g["rho"], 2) == 8.91


def test_given_hull_index_option_with_dividend_yield_when_priced_then_5183():
    """Hull, options on stock indices: S0=930, K=900, r=8%, q=3%, σ=20%, T=2 months → c=51.83."""
    assert round(bs_price(930, 900, 2 / 12, 0.20, 0.08, right="call", div_yield=0.03), 2) == 51.83


# --- Properties ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(spots, strikes, times, vols, rates, yields_)
def test_put_call_parity_holds(s, k, t, v, r, q):
    """c − p = S·e^(−qT) − K·e^(−rT) (Hull, put–call parity with a dividend yield)."""
    c = bs_price(s, k, t, v, r, right="call", div_yield=q)
    p = bs_price(s, k, t, v, r, right="put", div_yield=q)
    assert c - p == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-9 * max(s, k))


@settings(max_examples=60, deadline=None)
@given(spots, strikes, times, vols, rates, yields_)
def test_call_delta_in_unit_interval_put_delta_negative_gamma_vega_nonnegative(s, k, t, v, r, q):
    call = bs_greeks(s, k, t, v, r, right="call", div_yield=q)
    put = bs_greeks(s, k, t, v, r, right="put", div_yield=q)
    assert 0.0 <= call["delta"] <= 1.0
    assert -1.0 <= put["delta"] <= 0.0
    assert call["gamma"] >= 0.0 and call["gamma"] == pytest.approx(put["gamma"])
    assert call["vega"] >= 0.0 and call["vega"] == pytest.approx(put["vega"])
    assert call["price"] >= max(s * math.exp(-q * t) - k * math.exp(-r * t), 0.0) - 1e-9


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=20.0, max_value=200.0),
    st.floats(min_value=0.7, max_value=1.3),
    st.floats(min_value=0.1, max_value=2.0),
    st.floats(min_value=0.1, max_value=0.6),
    rates,
    yields_,
    rights,
)
def test_greeks_match_central_finite_differences(s, moneyness, t, v, r, q, right):
    k = s * moneyness
    g = bs_greeks(s, k, t, v, r, right=right, div_yield=q)

    def price(**kw: float) -> float:
        args = {"spot": s, "strike": k, "t_years": t, "vol": v, "rate": r} | kw
        return bs_price(**args, right=right, div_yield=q)

    hs, hv, ht, hr = s * 1e-4, 1e-5, 1e-5, 1e-5
    assert g["delta"] == pytest.approx((price(spot=s + hs) - price(spot=s - hs)) / (2 * hs), abs=1e-6)
    gamma_fd = (price(spot=s + hs) - 2 * price() + price(spot=s - hs)) / hs**2
    assert g["gamma"] == pytest.approx(gamma_fd, rel=1e-3, abs=1e-5)
    assert g["vega"] == pytest.approx((price(vol=v + hv) - price(vol=v - hv)) / (2 * hv), rel=1e-5, abs=1e-6)
    # Theta is the change as calendar time passes: −∂V/∂T.
    assert g["theta"] == pytest.approx(-(price(t_years=t + ht) - price(t_years=t - ht)) / (2 * ht), rel=1e-4, abs=1e-5)
    assert g["rho"] == pytest.approx((price(rate=r + hr) - price(rate=r - hr)) / (2 * hr), rel=1e-5, abs=1e-5)


def test_given_arrays_when_priced_then_vectorised_result_equals_scalar_calls():
    s = np.array([40.0, 42.0, 50.0, 60.0])
    right = np.array(["call", "put", "C", "p"])
    prices = bs_price(s, 45.0, [0.25, 0.5, 1.0, 2.0], 0.25, 0.03, right=right, div_yield=0.01)
    assert isinstance(prices, np.ndarray) and prices.shape == (4,)
    for i in range(4):
        expected = bs_price(s[i], 45.0, [0.25, 0.5, 1.0, 2.0][i], 0.25, 0.03, right=str(right[i]), div_yield=0.01)
        assert isinstance(expected, float)
        assert prices[i] == pytest.approx(expected, rel=1e-14)


def test_given_expired_or_zero_time_options_then_intrinsic_value_and_no_time_greeks():
    g = bs_greeks(
        [45.0, 35.0, 45.0, 35.0], 40.0, [0.0, 0.0, -0.1, 0.0], 0.2, 0.05, right=["call", "call", "put", "put"]
    )
    assert g["price"] == pytest.approx([5.0, 0.0, 0.0, 5.0])
    assert g["delta"] == pytest.approx([1.0, 0.0, 0.0, -1.0])
    for name in ("gamma", "vega", "theta", "rho"):
        assert np.all(g[name] == 0.0)


def test_given_near_expiry_or_near_zero_vol_then_prices_converge_to_the_degenerate_formula():
    """The live formula and the degenerate branch agree in the limit (no jump at the boundary)."""
    assert bs_price(45, 40, 1e-10, 0.2, 0.05) == pytest.approx(5.0, abs=1e-6)
    dead = bs_price(45, 40, 1.0, 0.0, 0.05, div_yield=0.02)
    assert dead == pytest.approx(45 * math.exp(-0.02) - 40 * math.exp(-0.05))
    assert bs_price(45, 40, 1.0, 1e-9, 0.05, div_yield=0.02) == pytest.approx(dead, rel=1e-9)
    dead_theta = bs_greeks(45, 40, 1.0, 0.0, 0.05, div_yield=0.02)["theta"]
    assert bs_greeks(45, 40, 1.0, 1e-7, 0.05, div_yield=0.02)["theta"] == pytest.approx(dead_theta, rel=1e-6)


def test_given_zero_spot_then_call_worthless_and_put_worth_discounted_strike():
    assert bs_price(0.0, 40, 1.0, 0.3, 0.05) == 0.0
    assert bs_price(0.0, 40, 1.0, 0.3, 0.05, right="put") == pytest.approx(40 * math.exp(-0.05))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vol": -0.1}, "Volatilities"),
        ({"strike": 0.0}, "Strikes"),
        ({"spot": -1.0}, "Spot"),
        ({"spot": float("nan")}, "finite"),
        ({"right": "straddle"}, "call' or 'put"),
        ({"spot": [1.0, 2.0], "strike": [1.0, 2.0, 3.0]}, "shapes"),
    ],
)
def test_given_bad_inputs_then_risk_input_error(kwargs, message):
    args = {"spot": 42.0, "strike": 40.0, "t_years": 0.5, "vol": 0.2, "rate": 0.1} | kwargs
    right = args.pop("right", "call")
    with pytest.raises(RiskInputError, match=message):
        bs_price(**args, right=right)


# --- Delta-gamma VaR -----------------------------------------------------------------------------


def test_given_linear_book_when_delta_gamma_var_then_equals_parametric_normal_closed_form():
    """With Γ = 0 both methods reduce to delta-normal VaR z·σ and ES σ·φ(z)/(1−c) (Jorion, *Value at Risk*)."""
    cov = np.array([[0.0004, 0.0001], [0.0001, 0.0009]])
    delta = np.array([1_000_000.0, -400_000.0])
    sigma = math.sqrt(delta @ cov @ delta)
    for method in ("normal", "cornish_fisher"):
        res = delta_gamma_var(delta, np.zeros(2), cov, confidence=0.99, horizon_days=10, method=method)
        assert res.var == pytest.approx(norm.ppf(0.99) * sigma * math.sqrt(10), rel=1e-12)
        assert res.es == pytest.approx(norm.pdf(norm.ppf(0.99)) / 0.01 * sigma * math.sqrt(10), rel=1e-4)


def test_given_quadratic_pnl_when_moments_then_match_a_large_simulation():
    """Cumulants of δᵀr + ½rᵀΓr (Mina & Ulmer 1999) against 400,000 simulated normal returns."""
    rng = np.random.default_rng(7)
    cov = np.array([[0.0004, 0.00012], [0.00012, 0.0009]])
    delta = np.array([50_000.0, -20_000.0])
    gamma = np.array([[4.0e6, 1.0e6], [1.0e6, -2.0e6]])
    r = rng.multivariate_normal(np.zeros(2), cov, size=400_000)
    pnl = r @ delta + 0.5 * np.einsum("ij,jk,ik->i", r, gamma, r)
    mean, sd, skew, exkurt = delta_gamma_moments(delta, gamma, cov)
    assert mean == pytest.approx(pnl.mean(), abs=4 * pnl.std() / math.sqrt(pnl.size))  # 4 standard errors
    assert sd == pytest.approx(pnl.std(), rel=0.01)
    sim_skew = float(((pnl - pnl.mean()) ** 3).mean() / pnl.std() ** 3)
    assert skew == pytest.approx(sim_skew, abs=0.05)
    sim_kurt = float(((pnl - pnl.mean()) ** 4).mean() / pnl.std() ** 4 - 3)
    assert exkurt == pytest.approx(sim_kurt, abs=0.3)


def _single_option_book(right: str, quantity: float) -> OptionBook:
    return OptionBook.create(
        spots=[100.0],
        underlying=[0],
        strike=[100.0],
        expiry_years=[0.25],
        right=[right],
        quantity=[quantity],
        vols=[0.30],
        rate=0.03,
        multiplier=100.0,
    )


@pytest.mark.parametrize("quantity", [100.0, -100.0])
def test_given_an_option_book_when_delta_gamma_cf_var_then_close_to_full_revaluation(quantity):
    """Delta-gamma-Cornish–Fisher VaR tracks Monte Carlo full revaluation better than delta-normal
    for a long and a short call (Jorion, *Value at Risk*, ch. on non-linear VaR)."""
    book = _single_option_book("call", quantity)
    daily_vol = 0.30 / math.sqrt(252)
    cov = np.array([[daily_vol**2]])
    delta, gamma = book.sensitivities()
    rng = np.random.default_rng(11)
    scenarios = rng.normal(0.0, daily_vol * math.sqrt(10), size=(200_000, 1))
    mc_var = float(np.quantile(-book.pnl(scenarios), 0.99))
    cf = delta_gamma_var(delta, gamma, cov, confidence=0.99, horizon_days=10).var
    delta_only = delta_gamma_var(delta, np.zeros((1, 1)), cov, confidence=0.99, horizon_days=10).var
    assert abs(cf - mc_var) < abs(delta_only - mc_var)
    assert cf == pytest.approx(mc_var, rel=0.10)


def test_given_bad_delta_gamma_inputs_then_risk_input_error():
    with pytest.raises(RiskInputError, match="2×2"):
        delta_gamma_var([1.0, 2.0], [1.0, 2.0], np.eye(3), confidence=0.99)
    with pytest.raises(RiskInputError, match="Confidence"):
        delta_gamma_var([1.0], [0.0], [[0.01]], confidence=1.5)
    with pytest.raises(RiskInputError, match="method"):
        delta_gamma_var([1.0], [0.0], [[0.01]], confidence=0.99, method="taylor")  # type: ignore[arg-type]


# --- Full revaluation ----------------------------------------------------------------------------


def test_given_equities_and_options_when_revalued_then_pnl_is_sum_of_repriced_positions():
    spots = np.array([100.0, 50.0])
    scen = np.array([[0.0, 0.0], [-0.10, 0.05], [0.20, -0.30]])
    pnl = revalue_book(
        spots,
        scen,
        underlying=[0, 1, 1],
        strike=[95.0, 50.0, 40.0],
        expiry_years=[0.5, 0.25, 0.0],  # the last option expires today: intrinsic value only
        right=["call", "put", "put"],
        quantity=[10.0, -5.0, 3.0],
        vols=[0.25, 0.40, 0.40],
        rate=0.02,
        multiplier=100.0,
        div_yields=[0.01, 0.0],
        equity_values=[10_000.0, -2_000.0],
    )
    terms = [(0, 95.0, 0.5, "call", 10.0, 0.25, 0.01), (1, 50.0, 0.25, "put", -5.0, 0.40, 0.0)]
    terms.append((1, 40.0, 0.0, "put", 3.0, 0.40, 0.0))
    expected = []
    for r in scen:
        s1 = spots * (1 + r)
        opt = 0.0
        for u, k, t, right, qty, vol, q in terms:
            before = bs_price(spots[u], k, t, vol, 0.02, right=right, div_yield=q)
            after = bs_price(s1[u], k, t, vol, 0.02, right=right, div_yield=q)
            opt += qty * 100 * (after - before)
        expected.append(r @ np.array([10_000.0, -2_000.0]) + opt)
    assert pnl == pytest.approx(expected, rel=1e-12)
    assert pnl[0] == 0.0


def test_given_small_moves_then_full_revaluation_matches_delta_gamma_taylor_expansion():
    book = _single_option_book("put", 7.0)
    delta, gamma = book.sensitivities(equity_values=[5_000.0])
    r = np.array([[-0.002], [0.001], [0.003]])
    taylor = r[:, 0] * delta[0] + 0.5 * r[:, 0] ** 2 * gamma[0, 0]
    assert book.pnl(r, equity_values=[5_000.0]) == pytest.approx(taylor, rel=1e-4)


def test_given_many_scenarios_when_chunked_then_same_as_one_block(monkeypatch):
    rng = np.random.default_rng(3)
    book = OptionBook.create(
        spots=[100.0, 80.0, 60.0],
        underlying=rng.integers(0, 3, size=40),
        strike=rng.uniform(50, 120, size=40),
        expiry_years=rng.uniform(0.05, 1.0, size=40),
        right=rng.choice(["call", "put"], size=40),
        quantity=rng.normal(0, 10, size=40),
        vols=rng.uniform(0.1, 0.5, size=40),
        rate=0.03,
    )
    scen = rng.normal(0, 0.02, size=(1_001, 3))
    whole = book.pnl(scen)
    monkeypatch.setattr(options, "_CELLS_PER_CHUNK", 400)  # 10 scenarios per chunk
    assert book.pnl(scen) == pytest.approx(whole, rel=1e-13)
    assert book.revaluer()(scen) == pytest.approx(whole, rel=1e-13)


def test_given_vol_shock_and_time_decay_then_long_option_value_moves_as_vega_and_theta_say():
    book = _single_option_book("call", 1.0)
    flat = np.zeros((1, 1))
    assert book.pnl(flat, vol_multiplier=1.5)[0] > 0  # long vega
    assert book.pnl(flat, vol_shift=-0.05)[0] < 0
    day = book.pnl(flat, elapsed_years=1 / 365)[0]
    theta_day = bs_greeks(100, 100, 0.25, 0.30, 0.03)["theta_per_day"] * 100
    assert day == pytest.approx(theta_day, rel=0.01)
    # Past expiry the option is worth its intrinsic value.
    assert book.pnl(np.array([[0.1]]), elapsed_years=1.0)[0] == pytest.approx(
        100 * (10.0 - bs_price(100, 100, 0.25, 0.30, 0.03))
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario_returns": np.zeros((2, 3))}, "k × 2"),
        ({"scenario_returns": np.array([[-1.5, 0.0]])}, "−100%"),
        ({"underlying": [2]}, "indices"),
        ({"underlying": [0.5]}, "integer"),
        ({"strike": [1.0, 2.0]}, "one value per option"),
        ({"spots0": [100.0, 0.0]}, "positive"),
    ],
)
def test_given_bad_book_inputs_then_risk_input_error(kwargs, message):
    args = {
        "spots0": [100.0, 50.0],
        "scenario_returns": np.zeros((2, 2)),
        "underlying": [0],
        "strike": [100.0],
        "expiry_years": [0.5],
        "right": ["call"],
        "quantity": [1.0],
        "vols": [0.2],
        "rate": 0.01,
    } | kwargs
    with pytest.raises(RiskInputError, match=message):
        revalue_book(args.pop("spots0"), args.pop("scenario_returns"), **args)


def test_given_equity_only_book_then_revaluation_is_linear():
    r = np.array([[0.01, -0.02], [0.0, 0.05]])
    assert revalue_book([10.0, 20.0], r, equity_values=[100.0, 200.0]) == pytest.approx(r @ [100.0, 200.0])
