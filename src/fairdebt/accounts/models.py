"""Accounts, debts and the append-only money ledger (integer pence, BIGINT)."""

from django.db import models
from django.db.models import Q

from fairdebt.domain import vocabulary as v


def _kind_is(kinds) -> Q:
    """kind = a OR kind = b ...: SQLite evaluates an IN list in a CHECK about eight times slower
    (1M rows into the table: 19 s against 9 s); PostgreSQL reads both alike."""
    q = Q()
    for kind in sorted(kinds):
        q |= Q(kind=kind)
    return q


def _choices(values, labels=None):
    return [(x, (labels or {}).get(x, x.replace("_", " ").capitalize())) for x in values]


class CachedPositions(models.Model):
    """A cache of the ledger, refreshed after each load and each night; `fairdebt check_ledger` proves it."""

    balance_pence = models.BigIntegerField(default=0)
    arrears_pence = models.BigIntegerField(default=0)
    ongoing_pence = models.BigIntegerField(default=0)
    positions_as_of = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True


class Account(CachedPositions):
    """One account in one source system (a council-tax account, a tenancy, a parking keeper)."""

    system = models.CharField(max_length=40)
    account_ref = models.CharField(max_length=80)
    account_type = models.CharField(max_length=40, choices=_choices(v.ACCOUNT_TYPES, v.ACCOUNT_TYPE_LABELS))
    tenure = models.CharField(max_length=40, blank=True, choices=_choices(v.TENURES, v.TENURE_LABELS))
    category = models.CharField(max_length=40, blank=True, choices=_choices(v.SUNDRY_CATEGORIES))
    parties = models.ManyToManyField("people.Party", through="AccountParty", related_name="accounts")
    source_file = models.ForeignKey("ingest.SourceFile", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "account_ref"], name="account_source_key"),
            models.CheckConstraint(condition=Q(account_type__in=v.ACCOUNT_TYPES), name="account_type_known"),
            models.CheckConstraint(
                condition=Q(tenure="") | Q(account_type="housing_rent", tenure__in=v.TENURES), name="tenure_only_for_rent"
            ),
        ]
        indexes = [models.Index(fields=["account_ref"]), models.Index(fields=["-arrears_pence"])]

    def __str__(self) -> str:
        return f"{self.get_account_type_display()} {self.account_ref}"

    @property
    def type_label(self) -> str:
        label = v.ACCOUNT_TYPE_LABELS.get(self.account_type, self.account_type)
        if self.tenure:
            label += f" ({v.TENURE_LABELS[self.tenure].lower()})"
        elif self.category:
            label += f" ({self.category.replace('_', ' ')})"
        return label


class AccountParty(models.Model):
    """Who is liable on an account. Joint liability: several rows for one account."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="liable")
    party = models.ForeignKey("people.Party", on_delete=models.PROTECT, related_name="liabilities")
    role = models.CharField(max_length=10, choices=_choices(v.ROLES), default="lead")
    liable_from = models.DateField(null=True, blank=True)
    liable_to = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "party"], name="account_party_once"),
            models.CheckConstraint(condition=Q(role__in=v.ROLES), name="role_known"),
        ]


class Debt(CachedPositions):
    """A liability inside an account: a council-tax year, a PCN, an overpayment period, a rent account."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debts")
    system = models.CharField(max_length=40)
    debt_ref = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    recovery_stage = models.CharField(max_length=40, default="none", choices=_choices(v.RECOVERY_STAGES))
    stage_date = models.DateField(null=True, blank=True)
    source_file = models.ForeignKey("ingest.SourceFile", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "debt_ref"], name="debt_source_key"),
            models.CheckConstraint(condition=Q(recovery_stage__in=v.RECOVERY_STAGES), name="recovery_stage_known"),
        ]

    def __str__(self) -> str:
        return self.description or self.debt_ref


class LedgerEntry(models.Model):
    """One append-only posting. Corrections are new entries (reversal, adjustment) pointing at what they correct.

    The database itself refuses a broken entry: CHECK constraints on kinds and signs, a UNIQUE
    idempotency key (source_system, source_key), and a trigger that refuses UPDATE (and DELETE on
    PostgreSQL) — see migrations.
    """

    id = models.BigAutoField(primary_key=True)  # bulk loads reserve blocks of ids, so a reversal can point at a row in the same file
    # Bulk loads stay fast with few indexes and no per-row foreign-key trigger: ingest proves every
    # debt reference before loading, and `fairdebt check_ledger` audits for orphans (docs/decisions/0002).
    # The account is reached through the debt.
    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="entries", db_constraint=False)
    kind = models.CharField(max_length=12, choices=_choices(v.ENTRY_KINDS))
    amount_pence = models.BigIntegerField()
    effective_date = models.DateField()
    posting_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    # No database foreign key (a per-row trigger on every bulk load): ingest proves each original,
    # and `fairdebt check_ledger` audits that every reversal's original exists (decision 0002).
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals", db_index=False, db_constraint=False
    )
    method = models.CharField(max_length=30, blank=True)
    source_system = models.CharField(max_length=40)
    source_key = models.CharField(max_length=120)
    # An audit pointer set only by the loader; no constraint, so a million-row COPY fires no extra checks.
    source_file = models.ForeignKey(
        "ingest.SourceFile", null=True, blank=True, on_delete=models.DO_NOTHING, db_index=False, db_constraint=False
    )

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["source_system", "source_key"], name="ledger_idempotency_key"),
            # An entry is reversed at most once (a partial index: most entries are not reversals).
            models.UniqueConstraint(fields=["reverses"], condition=Q(reverses__isnull=False), name="ledger_reversed_once"),
            models.CheckConstraint(condition=_kind_is(v.ENTRY_KINDS), name="ledger_kind_known"),
            models.CheckConstraint(condition=~_kind_is(v.DEBIT_KINDS) | Q(amount_pence__gt=0), name="ledger_debits_positive"),
            models.CheckConstraint(condition=~_kind_is(v.CREDIT_KINDS) | Q(amount_pence__lt=0), name="ledger_credits_negative"),
            models.CheckConstraint(condition=~Q(amount_pence=0), name="ledger_no_zero_entries"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False) | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="ledger_reversal_points_at_original",
            ),
        ]
