"""Concentration: weights by name, sector and country, Herfindahl index, effective number, top names.

Weights are *gross* weights: wᵢ = |vᵢ| / Σⱼ|vⱼ|. A short position concentrates risk as much as a
long one, so both count by their size; for a long-only book these are the ordinary portfolio
weights. The Herfindahl–Hirschman index HHI = Σ wᵢ² lies in [1/N, 1] (1 = everything in one name)
and 1/HHI is the effective number of equally weighted names. HHI is reported as a fraction; the
antitrust convention (U.S. DOJ/FTC Horizontal Merger Guidelines) multiplies it by 10,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from riskapp.engine.types import FloatArray, RiskInputError, check_values


def gross_weights(values: npt.ArrayLike) -> FloatArray:
    """|vᵢ| / Σ|vⱼ|; raises when the book has no exposure at all."""
    v = np.abs(check_values(values))
    gross = float(v.sum())
    if gross <= 0:
        raise RiskInputError("The book has no exposure: every position value is zero.")
    return v / gross


def herfindahl(weights: npt.ArrayLike) -> float:
    """Herfindahl index Σ wᵢ² of the gross weights (input: weights or values; normalised to Σ|w| = 1)."""
    w = gross_weights(weights)
    return float(w @ w)


def effective_number(weights: npt.ArrayLike) -> float:
    """Effective number of names 1/HHI (N for an equally weighted book of N names)."""
    return 1.0 / herfindahl(weights)


class GroupExposure(TypedDict):
    """Exposure of one group (name, sector, country) in base currency; ``weight`` is its gross share."""

    net: float
    gross: float
    long: float
    short: float  # ≤ 0
    weight: float
    count: int


def by_group(values: npt.ArrayLike, groups: Sequence[str]) -> dict[str, GroupExposure]:
    """Aggregate positions by a label per position; largest gross exposure first.

    ``weight`` is the group's gross value over the book's gross value (weights sum to 1). Blank labels
    are grouped as "Unclassified" so that every position is counted.
    """
    v = check_values(values)
    if len(groups) != v.size:
        raise RiskInputError(f"{len(groups)} group labels for {v.size} positions.")
    total_gross = float(np.abs(v).sum())
    if total_gross <= 0:
        raise RiskInputError("The book has no exposure: every position value is zero.")
    labels = np.array([str(g).strip() or "Unclassified" for g in groups])
    uniques, inverse = np.unique(labels, return_inverse=True)
    m = uniques.size
    net = np.bincount(inverse, weights=v, minlength=m)
    gross = np.bincount(inverse, weights=np.abs(v), minlength=m)
    long = np.bincount(inverse, weights=np.maximum(v, 0.0), minlength=m)
    count = np.bincount(inverse, minlength=m)
    order = np.argsort(-gross, kind="stable")
    return {
        str(uniques[i]): GroupExposure(
            net=float(net[i]),
            gross=float(gross[i]),
            long=float(long[i]),
            short=float(net[i] - long[i]),
            weight=float(gross[i] / total_gross),
            count=int(count[i]),
        )
        for i in order
    }


def top_names(values: npt.ArrayLike, names: Sequence[str], *, n: int = 10) -> list[tuple[str, float, float]]:
    """The ``n`` largest names by gross exposure as (name, net value, gross weight); positions in the
    same name are added up first."""
    if n < 1:
        raise RiskInputError("The number of top names must be at least 1.")
    groups = by_group(values, names)
    return [(name, g["net"], g["weight"]) for name, g in list(groups.items())[:n]]


@dataclass(frozen=True)
class ConcentrationReport:
    """Concentration of a book: HHI and effective number by name, sector and country, top names."""

    hhi_name: float
    effective_names: float
    hhi_sector: float | None
    hhi_country: float | None
    top: list[tuple[str, float, float]]
    top_share: float  # gross weight of the top names together
    by_sector: dict[str, GroupExposure] | None
    by_country: dict[str, GroupExposure] | None


def concentration_report(
    values: npt.ArrayLike,
    *,
    names: Sequence[str],
    sectors: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    top_n: int = 10,
) -> ConcentrationReport:
    """Everything the concentration panel shows, from position values and their labels."""
    by_name = by_group(values, names)
    hhi_name = herfindahl([g["gross"] for g in by_name.values()])
    sector = by_group(values, sectors) if sectors is not None else None
    country = by_group(values, countries) if countries is not None else None
    top = top_names(values, names, n=top_n)
    return ConcentrationReport(
        hhi_name=hhi_name,
        effective_names=1.0 / hhi_name,
        hhi_sector=herfindahl([g["gross"] for g in sector.values()]) if sector else None,
        hhi_country=herfindahl([g["gross"] for g in country.values()]) if country else None,
        top=top,
        top_share=float(sum(w for _, _, w in top)),
        by_sector=sector,
        by_country=country,
    )
