"""Wealth tables: households and clients (each with one advisor), the versioned risk
questionnaire and its answers, risk profiles, goals and their plans, accounts with tax lots and
transactions, the asset universe (asset class, ESG score, substitutes), model portfolios per
profile, recommendations and the daily client review.

Conventions (docs/wealth-methodology.md): money in the account's currency (USD in the demo),
Decimal in the database; weights and rates are fractions (0.05 = 5 %); ESG scores 0–10;
dates are calendar dates (US tax rules count calendar days).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from portfolios.models import MONEY, PRICE, QTY, Digits, Instrument

RATE = Digits(max_digits=7, decimal_places=6)


class Household(models.Model):
    """People planned for together (a couple, a family); wash-sale checks stay per client."""

    name = models.CharField(max_length=200)
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wealth_households")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A person advised by one advisor. Advisors see only their own clients."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="clients")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wealth_clients")
    birth_date = models.DateField()
    retirement_age = models.PositiveSmallIntegerField(default=67)
    annual_income = models.DecimalField(default=0, **MONEY)
    net_worth = models.DecimalField(default=0, **MONEY)
    # Marginal rates used for tax effects: short-term gains are taxed as income.
    tax_rate_short = models.DecimalField(default="0.32", **RATE)
    tax_rate_long = models.DecimalField(default="0.15", **RATE)
    # ESG preferences: the portfolio's weighted ESG score must reach ``esg_min_score`` (0–10);
    # instruments of ``esg_excluded_sectors`` get no weight.
    esg_min_score = models.DecimalField(null=True, blank=True, max_digits=4, decimal_places=2)
    esg_excluded_sectors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate_short__gte=0, tax_rate_short__lte=1, tax_rate_long__gte=0, tax_rate_long__lte=1),
                name="wealth_client_tax_rates_0_1",
            ),
            models.CheckConstraint(
                condition=Q(esg_min_score__isnull=True) | Q(esg_min_score__gte=0, esg_min_score__lte=10),
                name="wealth_client_esg_0_10",
            ),
            models.CheckConstraint(condition=Q(annual_income__gte=0), name="wealth_client_income_nonneg"),
        ]
        indexes = [models.Index(fields=["advisor", "name"], name="wealth_client_advisor_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Questionnaire(models.Model):
    """A version of the risk questionnaire. ``questions`` is a list of
    ``{"code", "text", "dimension": "willingness"|"capacity", "choices": [{"value", "label", "points"}]}``
    (validated by ``wealth.engine.profiling.questionnaire_parse``). Versions are never edited
    once answered: a change is a new version."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    questions = models.JSONField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class QuestionnaireResponse(models.Model):
    """One client's answers to one questionnaire version: ``{question code: choice value}``."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="responses")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="responses")
    answers = models.JSONField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.client_id} v{self.questionnaire_id} @ {self.submitted_at:%Y-%m-%d}"


class RiskProfile(models.Model):
    """The scored result of a response: willingness and capacity (0–100 each), the combined score
    and the profile 1 (most conservative) to 5 (most aggressive); the client's profile is the
    newest row. ``explanation`` lists the reasons in the words the client will read."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="profiles")
    response = models.OneToOneField(QuestionnaireResponse, on_delete=models.PROTECT, related_name="profile")
    willingness = models.FloatField()
    capacity = models.FloatField()
    score = models.FloatField()
    profile = models.PositiveSmallIntegerField()
    explanation = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(profile__gte=1, profile__lte=5), name="wealth_profile_1_5"),
            models.CheckConstraint(
                condition=Q(willingness__gte=0, willingness__lte=100, capacity__gte=0, capacity__lte=100),
                name="wealth_profile_scores_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: profile {self.profile} ({self.score:.0f})"


class AssetProfile(models.Model):
    """What the wealth engine needs to know about an instrument beyond the shared model."""

    class AssetClass(models.TextChoices):
        EQUITY = "equity"
        BOND = "bond"
        CASH = "cash"
        ALTERNATIVE = "alternative"

    instrument = models.OneToOneField(Instrument, primary_key=True, on_delete=models.CASCADE, related_name="wealth")
    asset_class = models.CharField(max_length=16, choices=AssetClass.choices, default=AssetClass.EQUITY)
    esg_score = models.DecimalField(null=True, blank=True, max_digits=4, decimal_places=2)
    expense_ratio = models.DecimalField(default=0, **RATE)
    # Round-trip trading cost as a fraction of the amount traded (spread + commission).
    trading_cost = models.DecimalField(default="0.0005", **RATE)

    class Meta:
        ordering = ["instrument_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(asset_class__in=["equity", "bond", "cash", "alternative"]), name="wealth_asset_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(esg_score__isnull=True) | Q(esg_score__gte=0, esg_score__lte=10),
                name="wealth_asset_esg_0_10",
            ),
            models.CheckConstraint(
                condition=Q(expense_ratio__gte=0, trading_cost__gte=0), name="wealth_asset_costs_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.asset_class}"


class Substitute(models.Model):
    """A security bought in place of one sold for a tax loss: similar exposure, not
    substantially identical (docs/wealth-methodology.md). Lower ``priority`` is tried first."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="wealth_substitutes")
    substitute = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    priority = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["instrument_id", "priority", "substitute_id"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "substitute"], name="wealth_substitute_unique"),
            models.CheckConstraint(condition=~Q(instrument=F("substitute")), name="wealth_substitute_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} -> {self.substitute_id}"


class ModelPortfolio(models.Model):
    """Target weights for a risk profile. A new version replaces the old for new proposals."""

    profile = models.PositiveSmallIntegerField()
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["profile", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "version"], name="wealth_model_profile_version"),
            models.CheckConstraint(condition=Q(profile__gte=1, profile__lte=5), name="wealth_model_profile_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (profile {self.profile}, v{self.version})"


class ModelWeight(models.Model):
    model = models.ForeignKey(ModelPortfolio, on_delete=models.CASCADE, related_name="weights")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    weight = models.DecimalField(max_digits=9, decimal_places=8)

    class Meta:
        ordering = ["model_id", "-weight"]
        constraints = [
            models.UniqueConstraint(fields=["model", "instrument"], name="wealth_model_weight_unique"),
            models.CheckConstraint(condition=Q(weight__gte=0, weight__lte=1), name="wealth_model_weight_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}/{self.instrument_id} {self.weight}"


class WealthAccount(models.Model):
    """A client account. Taxable accounts realise gains and losses; tax-advantaged ones do not
    (but a purchase in them inside the wash-sale window still disallows a loss)."""

    class Kind(models.TextChoices):
        TAXABLE = "taxable"
        TRADITIONAL_IRA = "traditional_ira"
        ROTH_IRA = "roth_ira"
        EMPLOYER_PLAN = "employer_plan"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="accounts")
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TAXABLE)
    cash = models.DecimalField(default=0, **MONEY)
    opened_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["client_id", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["taxable", "traditional_ira", "roth_ira", "employer_plan"]),
                name="wealth_account_kind_valid",
            ),
            models.CheckConstraint(condition=Q(cash__gte=0), name="wealth_account_cash_nonneg"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_taxable(self) -> bool:
        return self.kind == self.Kind.TAXABLE


class TaxLot(models.Model):
    """Shares bought together. ``cost_basis`` is the total basis of the remaining ``quantity``
    including any disallowed wash-sale loss (``wash_sale_adjustment``); ``holding_start`` is
    ``acquired_on`` moved back by the holding period of washed shares (IRS Pub. 550)."""

    account = models.ForeignKey(WealthAccount, on_delete=models.CASCADE, related_name="lots")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="wealth_lots")
    acquired_on = models.DateField()
    holding_start = models.DateField()
    quantity = models.DecimalField(**QTY)
    cost_basis = models.DecimalField(**MONEY)
    wash_sale_adjustment = models.DecimalField(default=0, **MONEY)
    # Shares of this lot already used as replacement shares of an earlier loss sale: each share
    # washes one sold share at most (Treas. Reg. §1.1091-1).
    wash_matched_quantity = models.DecimalField(default=0, **QTY)

    class Meta:
        ordering = ["account_id", "instrument_id", "acquired_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="wealth_lot_quantity_nonneg"),
            models.CheckConstraint(condition=Q(cost_basis__gte=0), name="wealth_lot_basis_nonneg"),
            models.CheckConstraint(condition=Q(holding_start__lte=F("acquired_on")), name="wealth_lot_holding_start"),
        ]
        indexes = [models.Index(fields=["account", "instrument"], name="wealth_lot_account_instr_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.instrument_id} {self.quantity} @ {self.acquired_on}"


class WealthTransaction(models.Model):
    """A buy or sell in a client account, with what a sale realised (taxable accounts)."""

    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"

    account = models.ForeignKey(WealthAccount, on_delete=models.CASCADE, related_name="transactions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    trade_date = models.DateField()
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.DecimalField(**QTY)
    price = models.DecimalField(**PRICE)
    realized_gain = models.DecimalField(null=True, blank=True, **MONEY)
    short_term = models.BooleanField(null=True, blank=True)
    wash_sale_disallowed = models.DecimalField(default=0, **MONEY)
    # Sales: the lot sold, its holding start, and how many of the sold shares a replacement
    # purchase has already washed (a later purchase may wash only the rest).
    lot = models.ForeignKey(TaxLot, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions")
    holding_start = models.DateField(null=True, blank=True)
    wash_matched_quantity = models.DecimalField(default=0, **QTY)
    recommendation = models.ForeignKey(
        "Recommendation", null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-trade_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(side__in=["buy", "sell"]), name="wealth_txn_side_valid"),
            models.CheckConstraint(condition=Q(quantity__gt=0, price__gt=0), name="wealth_txn_positive"),
        ]
        indexes = [models.Index(fields=["account", "trade_date"], name="wealth_txn_account_date_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.side} {self.quantity} {self.instrument_id} @ {self.price}"


class Goal(models.Model):
    """What the client saves for. Amounts are in today's money; the plan inflates them."""

    class Kind(models.TextChoices):
        RETIREMENT = "retirement"
        HOME = "home"
        EDUCATION = "education"
        CUSTOM = "custom"

    class Priority(models.TextChoices):
        ESSENTIAL = "essential"
        IMPORTANT = "important"
        ASPIRATIONAL = "aspirational"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="goals")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    target_amount = models.DecimalField(**MONEY)
    horizon_years = models.PositiveSmallIntegerField()
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.IMPORTANT)
    initial_amount = models.DecimalField(default=0, **MONEY)
    monthly_contribution = models.DecimalField(default=0, **MONEY)
    contribution_growth = models.DecimalField(default="0.02", **RATE)  # a year
    inflation = models.DecimalField(default="0.025", **RATE)  # a year
    annual_fee = models.DecimalField(default="0.005", **RATE)
    glide_path = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_id", "horizon_years", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["retirement", "home", "education", "custom"]), name="wealth_goal_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=["essential", "important", "aspirational"]), name="wealth_goal_priority_valid"
            ),
            models.CheckConstraint(condition=Q(target_amount__gt=0), name="wealth_goal_target_positive"),
            models.CheckConstraint(
                condition=Q(horizon_years__gte=1, horizon_years__lte=80), name="wealth_goal_horizon"
            ),
            models.CheckConstraint(
                condition=Q(initial_amount__gte=0, monthly_contribution__gte=0), name="wealth_goal_amounts_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(annual_fee__gte=0, annual_fee__lt=1, inflation__gt=-1, inflation__lt=1),
                name="wealth_goal_rates",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GoalPlan(models.Model):
    """One Monte Carlo projection of a goal: probability of success, the fan chart
    (``fan = {"months": [...], "p5": [...], "p25": ..., "p50": ..., "p75": ..., "p95": ...}`` in
    today's money) and the monthly contribution that would give 80 %."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="plans")
    success_probability = models.FloatField()
    required_contribution = models.DecimalField(null=True, blank=True, **MONEY)
    median_outcome = models.DecimalField(**MONEY)
    fan = models.JSONField()
    parameters = models.JSONField(default=dict)
    seed = models.BigIntegerField()
    paths = models.PositiveIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(success_probability__gte=0, success_probability__lte=1), name="wealth_plan_probability_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal_id}: {self.success_probability:.0%}"


class Recommendation(models.Model):
    """A proposal to the client: rebalance, harvest a loss, move to a new allocation, or a
    behavioural nudge. ``trades`` lists ``{account, symbol, side, quantity, price, amount,
    realized_gain, short_term, tax}``; ``tax_effect`` is their estimated tax (negative = saving)."""

    class Kind(models.TextChoices):
        REBALANCE = "rebalance"
        HARVEST = "harvest"
        ALLOCATION = "allocation"
        COACHING = "coaching"

    class Status(models.TextChoices):
        PROPOSED = "proposed"
        ACCEPTED = "accepted"
        DECLINED = "declined"
        SUPERSEDED = "superseded"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="recommendations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    title = models.CharField(max_length=200)
    reason = models.TextField()
    explanation = models.JSONField(default=dict)
    trades = models.JSONField(default=list)
    tax_effect = models.DecimalField(default=0, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["rebalance", "harvest", "allocation", "coaching"]), name="wealth_reco_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "accepted", "declined", "superseded"]),
                name="wealth_reco_status_valid",
            ),
            # At most one open proposal of each kind per client: a new one supersedes the old.
            models.UniqueConstraint(
                fields=["client", "kind"], condition=Q(status="proposed"), name="wealth_reco_one_open_per_kind"
            ),
        ]
        indexes = [models.Index(fields=["client", "status"], name="wealth_reco_client_status_idx")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.kind} ({self.status})"


class ClientReview(models.Model):
    """The daily scan of one client: what needs the advisor's attention and why."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="reviews")
    as_of = models.DateField()
    market_value = models.DecimalField(default=0, **MONEY)
    drift = models.FloatField(default=0)
    harvest_saving = models.DecimalField(default=0, **MONEY)
    goals_off_track = models.PositiveSmallIntegerField(default=0)
    coaching_flags = models.PositiveSmallIntegerField(default=0)
    attention = models.BooleanField(default=False)
    reasons = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-as_of", "client_id"]
        constraints = [models.UniqueConstraint(fields=["client", "as_of"], name="wealth_review_client_day")]

    def __str__(self) -> str:
        return f"{self.client_id} @ {self.as_of}"
