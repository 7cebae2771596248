"""People, and the records of them that each source system holds (parties)."""

from django.conf import settings
from django.db import models


class Person(models.Model):
    """One real resident or organisation, however many source records describe them.

    Until record linkage runs, ingest links a new party to an existing person only on an exact
    National Insurance number match; otherwise each party is its own person.
    """

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "people"
        permissions = [("reidentify", "Can re-identify a person (see names and addresses), with a reason")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"P{self.pk:07d}"


def _token(**kw):
    return models.CharField(max_length=24, null=True, blank=True, **kw)


class Party(models.Model):
    """A person as one source system records them: its own id, and keyed tokens of its identifiers.

    Raw names, dates of birth, NI numbers, addresses, phones and emails are not here: they are
    sealed in the identity vault (fairdebt.vault). Officers see initials until they re-identify.
    """

    system = models.CharField(max_length=40)
    party_ref = models.CharField(max_length=80)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="parties")
    initials = models.CharField(max_length=8, blank=True)
    # The postcode district ("E8"): about ten thousand homes, not an address. Home-visit lists are
    # grouped by it without re-identifying anyone.
    area = models.CharField(max_length=4, blank=True, default="")
    token_key_id = models.CharField(max_length=10)
    tok_forename = _token()
    tok_surname = _token(db_index=True)
    tok_organisation = _token(db_index=True)
    tok_dob = _token()
    tok_nino = _token(db_index=True)
    tok_address = _token()
    tok_postcode = _token(db_index=True)
    tok_uprn = _token()
    tok_phone = _token()
    tok_email = _token()
    tok_forename_canonical = _token()
    tok_first_initial = _token()
    tok_surname_phonetic = _token()
    tok_forename_phonetic = _token()
    tok_dob_year = _token()
    tok_dob_year_month = _token()
    tok_postcode_sector = _token()
    tok_house_postcode = _token()
    tok_building_postcode = _token()
    tok_dob_month_day = _token()
    # Each is a set of tokens, space-separated (a name and the ways of leaving one letter out:
    # identity.one_slip_keys), so linkage can see a typing slip without seeing the name.
    tok_forename_slips = models.TextField(null=True, blank=True)
    tok_surname_slips = models.TextField(null=True, blank=True)
    deceased_on = models.DateField(null=True, blank=True)
    source_file = models.ForeignKey("ingest.SourceFile", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name_plural = "parties"
        constraints = [models.UniqueConstraint(fields=["system", "party_ref"], name="party_source_key")]

    def __str__(self) -> str:
        return f"{self.initials or '?'} ({self.system} {self.party_ref})"

    @property
    def display_name(self) -> str:
        """Initials only: the name itself needs re-identification (people.services)."""
        return self.initials or "(no name)"

    @classmethod
    def token_columns(cls) -> list[str]:
        return [f.name for f in cls._meta.fields if f.name.startswith("tok_")]


class PartyAddress(models.Model):
    """Each distinct address a source system records for a party, as tokens.

    A party on several accounts (a council tax account at each home it has had, a parking account
    at the address the DVLA held) is recorded at several addresses; Party keeps the first one's
    tokens, and this table every one (the first too), so linkage can compare each of them. Ingest
    adds the rows of every accounts load, for new and existing parties alike; a reload adds
    nothing (one row per party and address_key). `kind` says where the address came from: an
    account row's own address, or a previous, forwarding or billing address the source system recorded.
    """

    KINDS = [("account", "Account address"), ("previous", "Previous address"), ("forwarding", "Forwarding address"),
             ("billing", "Billing address")]

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="addresses")
    # A digest of the token columns below (tokens, not raw values): one row per distinct address.
    address_key = models.CharField(max_length=32)
    kind = models.CharField(max_length=10, choices=KINDS, default="account")
    token_key_id = models.CharField(max_length=10)
    tok_address = _token()
    tok_postcode = _token()
    tok_uprn = _token()
    tok_house_postcode = _token()
    tok_postcode_sector = _token()
    tok_building_postcode = _token()
    source_file = models.ForeignKey("ingest.SourceFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name_plural = "party addresses"
        constraints = [models.UniqueConstraint(fields=["party", "address_key"], name="party_address_key")]

    @classmethod
    def token_columns(cls) -> list[str]:
        return [f.name for f in cls._meta.fields if f.name.startswith("tok_")]


class Reidentification(models.Model):
    """Who saw whom, when and why: one row per re-identification, never changed or deleted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="reidentifications")
    reason = models.CharField(max_length=500)
    at = models.DateTimeField(auto_now_add=True)
    parties = models.PositiveIntegerField(default=0, help_text="How many source records were opened.")

    class Meta:
        ordering = ["-at", "-id"]
        permissions = [("view_reidentification_audit", "Can see the re-identification audit")]


class LinkOverride(models.Model):
    """An officer's decision that two records are (link) or are not (unlink) the same person.
    Applied on every linkage run, so it survives re-runs; the latest word on a pair wins."""

    KINDS = [("link", "Same person"), ("unlink", "Different people")]

    party_a = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    party_b = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=6, choices=KINDS)
    reason = models.CharField(max_length=500)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class LinkageRun(models.Model):
    """One run of record linkage: the trained model (a versioned artefact) and what it did."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    mode = models.CharField(max_length=12)  # full | incremental
    model = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)
    timings = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]


class PartyLink(models.Model):
    """Why two records were joined (or kept apart): the evidence and the match weight of the latest run."""

    run = models.ForeignKey(LinkageRun, on_delete=models.CASCADE, related_name="links")
    party_l = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    party_r = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    match_weight = models.FloatField(null=True)
    match_probability = models.FloatField(null=True)
    agreeing = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=10)  # model | officer
    status = models.CharField(max_length=200)
    in_cluster = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["party_l"]), models.Index(fields=["party_r"])]
