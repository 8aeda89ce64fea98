"""How blatant each injected abuse is, per severity: the scenario generator's knobs.

Every knob describes the abuse in market terms — multiples of the size shown at the touch,
shares of average daily volume (ADV), multiples of the daily volatility σ, seconds — as the
definitions describe it (EU MAR Annex I, Delegated Regulation 2016/522 Annex II, FINRA Rules
5210 and 5270, the CFTC's 2013 guidance on spoofing). ``low`` is borderline conduct, ``default``
clear conduct a surveillance team must catch, ``high`` blatant conduct. The ranges were set from
those descriptions, never from any detector's thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

Range = tuple[float, float]


@dataclass(frozen=True)
class Knobs:
    """How blatant each abuse is at one severity (every range is drawn uniformly per episode)."""

    spoof_size_x: Range  # spoof order size ÷ the size displayed at the touch when placed
    spoof_life_s: Range  # seconds from placing the spoof to cancelling it
    spoof_filled_share: Range  # share of the spoof that happens to be filled before the cancel
    spoof_repeats: Range  # spoof-and-execute cycles in one episode
    layer_orders: Range  # same-side orders on successive price levels
    layer_size_x: Range  # each layer ÷ the touch size
    layer_burst_s: Range  # seconds to place all the layers
    layer_cancel_after_s: Range  # seconds from the opposite execution to the cancels
    wash_pairs: Range  # buy/sell pairs between the group's accounts
    wash_gap_s: Range  # seconds between the buy and the matching sell (near-wash)
    wash_qty_mismatch: float  # largest relative difference of the two quantities
    wash_cross_share: float  # share of pairs done as an exact internal cross
    close_window_min: Range  # minutes before the close in which the account trades
    close_volume_share: Range  # account's share of the tape volume in that window
    close_push_sigma: Range  # move of the close in the account's favour, in daily σ
    insider_adv_share: Range  # net position ÷ ADV
    insider_lead_h: Range  # session hours between the first trade and the announcement
    insider_move_sigma: Range  # announcement's price move in the position's favour, in daily σ
    pump_accum_adv: Range  # accumulated position ÷ ADV
    pump_accum_days: Range  # sessions of accumulation before the surge
    pump_move_sigma: Range  # price rise during the surge, in daily σ
    pump_volume_x: Range  # tape volume during the surge ÷ its normal level
    pump_sold_share: Range  # share of the accumulated position sold into the surge
    front_client_adv: Range  # client order ÷ ADV
    front_lead_s: Range  # seconds between the front-running trade and the client order
    front_size_share: Range  # front-running quantity ÷ client order quantity
    front_unwind_prob: float  # probability the position is unwound after the client's order


SEVERITY_KNOBS: dict[str, Knobs] = {
    "low": Knobs(
        spoof_size_x=(3, 6),
        spoof_life_s=(10, 60),
        spoof_filled_share=(0.0, 0.2),
        spoof_repeats=(1, 1),
        layer_orders=(3, 3),
        layer_size_x=(1, 2),
        layer_burst_s=(5, 20),
        layer_cancel_after_s=(10, 60),
        wash_pairs=(1, 2),
        wash_gap_s=(30, 300),
        wash_qty_mismatch=0.2,
        wash_cross_share=0.0,
        close_window_min=(5, 10),
        close_volume_share=(0.1, 0.2),
        close_push_sigma=(0.1, 0.25),
        insider_adv_share=(0.003, 0.01),
        insider_lead_h=(13, 39),
        insider_move_sigma=(1.5, 2.5),
        pump_accum_adv=(0.02, 0.05),
        pump_accum_days=(5, 10),
        pump_move_sigma=(1.5, 3),
        pump_volume_x=(1.5, 2),
        pump_sold_share=(0.3, 0.5),
        front_client_adv=(0.01, 0.03),
        front_lead_s=(300, 1800),
        front_size_share=(0.02, 0.05),
        front_unwind_prob=0.5,
    ),
    "default": Knobs(
        spoof_size_x=(5, 15),
        spoof_life_s=(1, 15),
        spoof_filled_share=(0.0, 0.05),
        spoof_repeats=(1, 3),
        layer_orders=(3, 5),
        layer_size_x=(2, 4),
        layer_burst_s=(1, 5),
        layer_cancel_after_s=(1, 10),
        wash_pairs=(2, 4),
        wash_gap_s=(2, 30),
        wash_qty_mismatch=0.05,
        wash_cross_share=0.5,
        close_window_min=(3, 8),
        close_volume_share=(0.2, 0.4),
        close_push_sigma=(0.25, 0.6),
        insider_adv_share=(0.01, 0.03),
        insider_lead_h=(2, 13),
        insider_move_sigma=(2.5, 4.5),
        pump_accum_adv=(0.05, 0.12),
        pump_accum_days=(3, 8),
        pump_move_sigma=(3, 6),
        pump_volume_x=(2, 4),
        pump_sold_share=(0.5, 0.9),
        front_client_adv=(0.02, 0.06),
        front_lead_s=(20, 300),
        front_size_share=(0.05, 0.15),
        front_unwind_prob=0.8,
    ),
    "high": Knobs(
        spoof_size_x=(15, 40),
        spoof_life_s=(0.2, 3),
        spoof_filled_share=(0.0, 0.0),
        spoof_repeats=(2, 5),
        layer_orders=(5, 8),
        layer_size_x=(4, 8),
        layer_burst_s=(0.2, 2),
        layer_cancel_after_s=(0.1, 2),
        wash_pairs=(4, 10),
        wash_gap_s=(0, 2),
        wash_qty_mismatch=0.0,
        wash_cross_share=1.0,
        close_window_min=(2, 5),
        close_volume_share=(0.4, 0.7),
        close_push_sigma=(0.6, 1.2),
        insider_adv_share=(0.03, 0.08),
        insider_lead_h=(0.1, 6),
        insider_move_sigma=(4.5, 8),
        pump_accum_adv=(0.12, 0.25),
        pump_accum_days=(3, 6),
        pump_move_sigma=(6, 10),
        pump_volume_x=(4, 8),
        pump_sold_share=(0.9, 1.0),
        front_client_adv=(0.05, 0.1),
        front_lead_s=(1, 30),
        front_size_share=(0.15, 0.4),
        front_unwind_prob=1.0,
    ),
}


KNOB_HELP: dict[str, str] = {
    "spoof_size_x": "spoof order ÷ size shown at the touch",
    "spoof_life_s": "spoof life before the cancel (s)",
    "spoof_filled_share": "share of the spoof filled",
    "spoof_repeats": "spoof-and-execute cycles per episode",
    "layer_orders": "same-side orders on successive levels",
    "layer_size_x": "each layer ÷ touch size",
    "layer_burst_s": "time to place the layers (s)",
    "layer_cancel_after_s": "opposite execution → cancels (s)",
    "wash_pairs": "buy/sell pairs inside the group",
    "wash_gap_s": "buy → matching sell (s)",
    "wash_qty_mismatch": "largest relative size difference",
    "wash_cross_share": "share done as exact internal crosses",
    "close_window_min": "minutes before the close",
    "close_volume_share": "account's share of that window's volume",
    "close_push_sigma": "close moved in its favour (daily σ)",
    "insider_adv_share": "net position ÷ ADV",
    "insider_lead_h": "first trade → announcement (session hours)",
    "insider_move_sigma": "announcement move in its favour (daily σ)",
    "pump_accum_adv": "accumulated position ÷ ADV",
    "pump_accum_days": "sessions of accumulation",
    "pump_move_sigma": "price rise in the surge (daily σ)",
    "pump_volume_x": "surge volume ÷ normal",
    "pump_sold_share": "share of the position sold into the surge",
    "front_client_adv": "client order ÷ ADV",
    "front_lead_s": "front-running trade → client order (s)",
    "front_size_share": "front-running size ÷ client order",
    "front_unwind_prob": "probability of unwinding after the client order",
}


def knobs_markdown() -> str:
    """The severity table (one row per knob, one column per severity) for the methodology page."""

    def cell(v: object) -> str:
        if isinstance(v, tuple):
            return f"{v[0]:g}–{v[1]:g}" if v[0] != v[1] else f"{v[0]:g}"
        return f"{v:g}" if isinstance(v, float) else str(v)

    lines = ["| knob | meaning | low | default | high |", "|---|---|---|---|---|"]
    for f in fields(Knobs):
        values = [cell(getattr(SEVERITY_KNOBS[s], f.name)) for s in ("low", "default", "high")]
        lines.append(f"| `{f.name}` | {KNOB_HELP[f.name]} | " + " | ".join(values) + " |")
    return "\n".join(lines)
