"""Ingestion rows of a generated market (``surveillance.engine.scenarios``), for the demo and tests.

``market_rows`` turns a ``GeneratedMarket`` into the JSON-like rows an OMS would send to the
ingestion API (``portfolios.ingest.SPECS``): ISO 8601 UTC timestamps with microseconds, numbers
for prices and quantities (rounded to 6 decimals, within the columns' scale), codes for every
reference. Every code and symbol starts with ``PREFIX`` so the synthetic market can never take a
real symbol or another demo's account code.

Economic groups are kept exactly: the database groups accounts by "same beneficial owner or
linked" (``surveillance.inputs.accounts_load``), so each generator owner becomes one beneficial
owner per group it appears in (the firm owns several independent trading books: one owner row
per book group), and the other members of a group are linked to its first account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from portfolios.engine.synthetic import iso_utc, stream_rng
from surveillance.engine.scenarios import GeneratedMarket
from surveillance.engine.types import US_PER_DAY, AccountKind, EventKind, FloatArray, IntArray

PREFIX = "SIM-"
QUOTE_VENUE = "NBBO"  # consolidated best bid and offer
TAPE_VENUES = ("XNAS", "XNYS", "ARCX", "BATS", "IEXG")
ORDER_VENUES = ("XNAS", "XNYS", "ARCX", "BATS")
INTERNAL_VENUE = "INTERNAL"  # an internal cross never reaches a venue
NEWS_PREFIX = "[synthetic] "
DECIMALS = 6  # prices have 8 decimal places in the database, quantities 6: 6 fits both

EVENT_NAMES = {int(k): k.name.lower() for k in EventKind}
KIND_NAMES = {int(k): k.name.lower() for k in AccountKind}
ENTITIES = (
    "instruments",
    "price_bars",
    "quotes",
    "market_trades",
    "events",
    "beneficial_owners",
    "accounts",
    "orders",
    "order_events",
    "trades",
)

# Headlines of price-sensitive announcements by the sign of the day's move, and of routine ones.
_SENSITIVE_UP = (
    ("earnings", "{sym} reports quarterly earnings well above expectations"),
    ("merger", "{sym} agrees to be acquired at a premium"),
    ("regulatory", "{sym} wins approval for its lead product"),
)
_SENSITIVE_DOWN = (
    ("earnings", "{sym} warns that quarterly earnings will miss expectations"),
    ("guidance", "{sym} withdraws its full-year guidance"),
    ("regulatory", "Regulator opens an investigation into {sym}"),
)
_ROUTINE = (
    ("dividend", "{sym} declares its regular quarterly dividend"),
    ("news", "{sym} to present at an industry conference"),
    ("news", "{sym} names a new head of investor relations"),
)


def _num(values: FloatArray) -> list[float | None]:
    """Rounded floats, None where NaN (a market order's limit, an unknown volume)."""
    rounded = np.round(values.astype(np.float64), DECIMALS)
    return [None if v != v else v for v in rounded.tolist()]


def _side(side: Any) -> str:
    return "buy" if int(side) > 0 else "sell"


def _owners(gen: GeneratedMarket) -> tuple[dict[int, str], list[dict[str, Any]], dict[int, list[str]]]:
    """Owner code per account, owner rows, and the links (account → codes it is linked to)."""
    acc = gen.data.accounts
    codes = {int(a): PREFIX + c for a, c in gen.account_codes.items()}
    keys = sorted({(int(o), int(g)) for o, g in zip(acc.owner.tolist(), acc.group.tolist(), strict=True)})
    groups_of_owner: dict[int, int] = {}
    for owner, _ in keys:
        groups_of_owner[owner] = groups_of_owner.get(owner, 0) + 1
    owner_code = {key: f"{PREFIX}BO-{k + 1:05d}" for k, key in enumerate(keys)}
    members: dict[tuple[int, int], list[int]] = {}
    for a, o, g in zip(acc.account_id.tolist(), acc.owner.tolist(), acc.group.tolist(), strict=True):
        members.setdefault((int(o), int(g)), []).append(int(a))
    kind = dict(zip(acc.account_id.tolist(), acc.kind.tolist(), strict=True))
    employee = dict(zip(acc.account_id.tolist(), acc.is_employee.tolist(), strict=True))
    rows = []
    for key in keys:
        ids = members[key]
        names = ", ".join(codes[a].removeprefix(PREFIX) for a in ids[:4]) + (" …" if len(ids) > 4 else "")
        firm = any(kind[a] != AccountKind.CLIENT for a in ids)
        institution = all(codes[a].startswith(PREFIX + "INST-") for a in ids)
        if firm:
            # The firm owns every trading book; one owner row per independent book group.
            name, owner_kind = f"Simulated firm, trading book {names}", "entity"
        elif institution:
            name, owner_kind = f"Institutional client {names}", "entity"
        else:
            label = "Employee" if any(employee[a] for a in ids) else "Client"
            name, owner_kind = f"{label} {names}", "person"
        rows.append(
            {
                "code": owner_code[key],
                "name": name,
                "kind": owner_kind,
                "is_employee": bool(any(employee[a] for a in ids)),
            }
        )
    account_owner = {
        int(a): owner_code[(int(o), int(g))]
        for a, o, g in zip(acc.account_id.tolist(), acc.owner.tolist(), acc.group.tolist(), strict=True)
    }
    head: dict[int, int] = {}
    links: dict[int, list[str]] = {}
    for a, g in zip(acc.account_id.tolist(), acc.group.tolist(), strict=True):
        first = head.setdefault(int(g), int(a))
        if first != a and account_owner[int(a)] != account_owner[first]:
            links[int(a)] = [codes[first]]
    return account_owner, rows, links


_ACCOUNT_NAMES = {
    "MM": "Market-making book",
    "PROP": "Proprietary trading book",
    "INST": "Institutional client account",
    "CL": "Client account",
    "EMP": "Employee personal account",
}


def _accounts(gen: GeneratedMarket, desk_code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    acc = gen.data.accounts
    account_owner, owner_rows, links = _owners(gen)
    rows = []
    for a, k in zip(acc.account_id.tolist(), acc.kind.tolist(), strict=True):
        code = gen.account_codes[int(a)]
        row: dict[str, Any] = {
            "code": PREFIX + code,
            "name": f"{_ACCOUNT_NAMES.get(code.split('-')[0], 'Account')} {code}",
            "kind": KIND_NAMES[int(k)],
            "owner": account_owner[int(a)],
            "desk": desk_code,
        }
        if int(a) in links:
            row["linked_accounts"] = links[int(a)]
        rows.append(row)
    return owner_rows, rows


def _headlines(gen: GeneratedMarket, symbols: dict[int, str]) -> list[tuple[str, str]]:
    """(event type, headline) per news item; a sensitive one reads as good or bad news by the
    sign of its instrument's return on the day."""
    d = gen.data
    bars = d.bars
    rng = stream_rng(gen.seed, "demo-headlines")
    out = []
    news = zip(d.news.instrument.tolist(), d.news.ts_us.tolist(), d.news.price_sensitive.tolist(), strict=True)
    for inst, ts, sensitive in news:
        mine = np.flatnonzero(bars.instrument == inst)
        pos = int(np.searchsorted(bars.day[mine], ts // US_PER_DAY))
        pos = min(pos, mine.size - 1)
        up = pos == 0 or bars.close[mine[pos]] >= bars.close[mine[pos - 1]]
        table = (_SENSITIVE_UP if up else _SENSITIVE_DOWN) if sensitive else _ROUTINE
        kind, text = table[int(rng.integers(len(table)))]
        out.append((kind, NEWS_PREFIX + text.format(sym=symbols[int(inst)])))
    return out


def _sequences(order_id: IntArray) -> IntArray:
    """1-based sequence of each event within its order, in table (time) order."""
    k = np.argsort(order_id, kind="stable")
    sorted_ids = order_id[k]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_ids)) + 1]
    run = np.arange(sorted_ids.size) - np.repeat(starts, np.diff(np.r_[starts, sorted_ids.size]))
    seq: IntArray = np.empty(run.size, dtype=np.int64)
    seq[k] = run + 1
    return seq


def _choose(rng: np.random.Generator, options: Sequence[str], n: int) -> list[str]:
    return [options[i] for i in rng.integers(len(options), size=n).tolist()]


def market_rows(gen: GeneratedMarket, *, shift_days: int, desk_code: str) -> dict[str, list[dict[str, Any]]]:
    """Ingestion rows of every entity of ``gen``, moved ``shift_days`` later (earlier if negative).

    ``shift_days`` must be a multiple of 7 so every session stays on its weekday (``ValueError``
    otherwise). Accounts go to desk ``desk_code``, which must exist before the rows are sent.
    Keys, in dependency order: ``ENTITIES``. Orders are ``<PREFIX>O<id>``, trades ``<PREFIX>T<id>``,
    prints ``<PREFIX>P<n>``; order-event sequences start at 1 in time order within each order;
    a cancel carries no quantity (the open quantity removed follows from the fills).
    """
    if shift_days % 7 != 0:
        raise ValueError(f"shift_days must be a multiple of 7 to keep weekdays (got {shift_days}).")
    shift_us = shift_days * US_PER_DAY
    d = gen.data
    symbols = {int(i): PREFIX + s for i, s in gen.instrument_symbols.items()}
    codes = {int(a): PREFIX + c for a, c in gen.account_codes.items()}
    rng = stream_rng(gen.seed, "demo-venues")

    instruments = [
        {"symbol": s, "name": f"Simulated stock {s}", "kind": "equity", "country": "US"} for s in symbols.values()
    ]
    b = d.bars
    bar_days = np.datetime_as_string((b.day + shift_days).astype("datetime64[D]")).tolist()
    volume = [None if v != v else int(v) for v in b.volume.tolist()]
    bar_close = _num(b.close)
    price_bars = [
        {
            "instrument": symbols[i],
            "date": day,
            "close": c,
            "adj_close": c,
            "volume": v,
            "source": "synthetic",
        }
        for i, day, c, v in zip(b.instrument.tolist(), bar_days, bar_close, volume, strict=True)
    ]
    q = d.quotes
    quotes = [
        {
            "instrument": symbols[i],
            "ts": ts,
            "venue": QUOTE_VENUE,
            "bid": bid,
            "ask": ask,
            "bid_size": bs,
            "ask_size": az,
        }
        for i, ts, bid, ask, bs, az in zip(
            q.instrument.tolist(),
            iso_utc(q.ts_us + shift_us),
            _num(q.bid),
            _num(q.ask),
            _num(q.bid_size),
            _num(q.ask_size),
            strict=True,
        )
    ]
    t = d.tape
    market_trades = [
        {
            "instrument": symbols[i],
            "ts": ts,
            "venue": venue,
            "tape_id": f"{PREFIX}P{n + 1:07d}",
            "price": p,
            "quantity": x,
        }
        for n, (i, ts, venue, p, x) in enumerate(
            zip(
                t.instrument.tolist(),
                iso_utc(t.ts_us + shift_us),
                _choose(rng, TAPE_VENUES, len(t)),
                _num(t.price),
                _num(t.quantity),
                strict=True,
            )
        )
    ]
    events = [
        {"instrument": symbols[i], "ts": ts, "event_type": kind, "headline": headline, "price_sensitive": s}
        for i, ts, s, (kind, headline) in zip(
            d.news.instrument.tolist(),
            iso_utc(d.news.ts_us + shift_us),
            d.news.price_sensitive.tolist(),
            _headlines(gen, symbols),
            strict=True,
        )
    ]
    owners, accounts = _accounts(gen, desk_code)

    o = d.orders
    order_code = {int(k): f"{PREFIX}O{int(k):07d}" for k in np.unique(o.order_id).tolist()}
    is_new = o.kind == EventKind.NEW
    new_ids = o.order_id[is_new].tolist()
    venue_of = dict(zip(new_ids, _choose(rng, ORDER_VENUES, len(new_ids)), strict=True))
    orders = [
        {
            "client_order_id": order_code[k],
            "account": codes[a],
            "instrument": symbols[i],
            "side": _side(s),
            "order_type": "market" if p is None else "limit",
            "limit_price": p,
            "quantity": x,
            "time_in_force": "day",
            "venue": venue_of[k],
            "arrival_ts": ts,
        }
        for k, a, i, s, ts, p, x in zip(
            new_ids,
            o.account[is_new].tolist(),
            o.instrument[is_new].tolist(),
            o.side[is_new].tolist(),
            iso_utc(o.ts_us[is_new] + shift_us),
            _num(o.price[is_new]),
            _num(o.order_quantity[is_new]),
            strict=True,
        )
    ]
    # Quotes (new, replace) carry the limit in force and the order's total; fills their own
    # price and amount; cancels and rejects neither.
    priced = np.isin(o.kind, [EventKind.NEW, EventKind.REPLACE, EventKind.PARTIAL_FILL, EventKind.FILL])
    price = _num(np.where(priced, o.price, np.nan))
    quantity = _num(np.where(priced, o.quantity, np.nan))
    order_events = [
        {
            "order": order_code[k],
            "sequence": seq,
            "event_type": EVENT_NAMES[kind],
            "ts": ts,
            "price": p,
            "quantity": x,
        }
        for k, seq, kind, ts, p, x in zip(
            o.order_id.tolist(),
            _sequences(o.order_id).tolist(),
            o.kind.tolist(),
            iso_utc(o.ts_us + shift_us),
            price,
            quantity,
            strict=True,
        )
    ]
    tr = d.trades
    trades = [
        {
            "trade_id": f"{PREFIX}T{tid:07d}",
            "account": codes[a],
            "instrument": symbols[i],
            "order": order_code.get(oid),
            "counterparty_account": codes[cp] if cp >= 0 else None,
            "side": _side(s),
            "price": p,
            "quantity": x,
            "venue": INTERNAL_VENUE if cp >= 0 else venue_of.get(oid, ORDER_VENUES[0]),
            "ts": ts,
        }
        for tid, oid, a, cp, i, s, ts, p, x in zip(
            tr.trade_id.tolist(),
            tr.order_id.tolist(),
            tr.account.tolist(),
            tr.counterparty.tolist(),
            tr.instrument.tolist(),
            tr.side.tolist(),
            iso_utc(tr.ts_us + shift_us),
            _num(tr.price),
            _num(tr.quantity),
            strict=True,
        )
    ]
    return {
        "instruments": instruments,
        "price_bars": price_bars,
        "quotes": quotes,
        "market_trades": market_trades,
        "events": events,
        "beneficial_owners": owners,
        "accounts": accounts,
        "orders": orders,
        "order_events": order_events,
        "trades": trades,
    }
