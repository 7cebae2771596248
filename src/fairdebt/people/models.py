"""People, and the records of them that each source system holds (parties)."""

from django.db import models


class Person(models.Model):
    """One real resident or organisation, however many source records describe them.

    Until record linkage runs, ingest links a new party to an existing person only on an exact
    National Insurance number match; otherwise each party is its own person.
    """

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"P{self.pk:07d}"


class Party(models.Model):
    """A person as one source system records them (its own id, its own spelling)."""

    system = models.CharField(max_length=40)
    party_ref = models.CharField(max_length=80)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="parties")
    title = models.CharField(max_length=40, blank=True)
    forename = models.CharField(max_length=120, blank=True)
    surname = models.CharField(max_length=200)
    organisation = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    nino = models.CharField(max_length=9, blank=True)
    address_line_1 = models.CharField(max_length=200, blank=True)
    address_line_2 = models.CharField(max_length=200, blank=True)
    address_line_3 = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    uprn = models.CharField(max_length=12, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=254, blank=True)
    deceased_on = models.DateField(null=True, blank=True)
    source_file = models.ForeignKey("ingest.SourceFile", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name_plural = "parties"
        constraints = [models.UniqueConstraint(fields=["system", "party_ref"], name="party_source_key")]
        indexes = [models.Index(fields=["surname"]), models.Index(fields=["postcode"]), models.Index(fields=["nino"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.organisation:
            return self.organisation
        return " ".join(p for p in (self.title, self.forename, self.surname) if p)

    @property
    def address(self) -> str:
        return ", ".join(p for p in (self.address_line_1, self.address_line_2, self.address_line_3, self.postcode) if p)
