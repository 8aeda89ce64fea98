"""Wealth pages, by subject: ``dashboard`` (the advisor's list, its CSV, the scan), ``clients``
(the client page and the questionnaire), ``actions`` (goals, proposals, decisions) and
``report`` (the client report PDF); ``common`` holds their helpers.

Wealth advisors act on their own clients; auditors read (every POST refuses them with 403 and
the pages show them no buttons). A client out of the user's scope is 404.
"""

from wealth.views.actions import (
    allocation_propose,
    goal_create,
    goal_edit,
    goal_plan,
    harvest_propose,
    rebalance_propose,
    recommendation_accept,
    recommendation_decline,
)
from wealth.views.clients import client_detail, questionnaire
from wealth.views.dashboard import attention_csv, index, scan
from wealth.views.report import client_report

__all__ = [
    "allocation_propose",
    "attention_csv",
    "client_detail",
    "client_report",
    "goal_create",
    "goal_edit",
    "goal_plan",
    "harvest_propose",
    "index",
    "questionnaire",
    "rebalance_propose",
    "recommendation_accept",
    "recommendation_decline",
    "scan",
]
