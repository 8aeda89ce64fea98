"""Wealth services: the only place that writes (docs/wealth-methodology.md, "Services").

Modules: ``clients`` (clients and goals), ``profiling`` (questionnaire and risk profiles),
``market`` (market inputs of the engines, read-only), ``planning`` (goal plans), ``construction``
(allocation proposals), ``rebalancing`` (rebalance, harvest and coaching proposals),
``recommendations`` (accept/decline and booking), ``review`` (the daily review and scan) and
``state`` (a client's holdings and target, read-only). Import the functions from here.
"""

from __future__ import annotations

from wealth.services.clients import client_create, client_update, goal_create, goal_delete, goal_update
from wealth.services.construction import allocation_propose
from wealth.services.market import MarketInputs, latest_prices, market_inputs
from wealth.services.planning import goal_plan
from wealth.services.profiling import profile_submit, questionnaire_active
from wealth.services.rebalancing import coaching_check, coaching_propose, harvest_propose, rebalance_propose
from wealth.services.recommendations import recommendation_accept, recommendation_decline
from wealth.services.review import client_review, wealth_scan_queue, wealth_scan_run
from wealth.services.state import ClientState, Target, client_state, target_for

__all__ = [
    "ClientState",
    "MarketInputs",
    "Target",
    "allocation_propose",
    "client_create",
    "client_review",
    "client_state",
    "client_update",
    "coaching_check",
    "coaching_propose",
    "goal_create",
    "goal_delete",
    "goal_plan",
    "goal_update",
    "harvest_propose",
    "latest_prices",
    "market_inputs",
    "profile_submit",
    "questionnaire_active",
    "rebalance_propose",
    "recommendation_accept",
    "recommendation_decline",
    "target_for",
    "wealth_scan_queue",
    "wealth_scan_run",
]
