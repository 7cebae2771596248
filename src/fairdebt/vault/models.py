"""The identity vault: raw identifiers, sealed, in their own database (alias `vault`).

Nothing else in fairdebt stores a name, date of birth, NI number, address, phone or email; the
rest of the system holds keyed tokens. Opening a row needs the seal key (vault/keys.py) and, for
staff, the people.reidentify permission and a stated reason, each use logged (people.services).
"""

from django.db import models


class Identity(models.Model):
    system = models.CharField(max_length=40)
    party_ref = models.CharField(max_length=80)
    key_id = models.CharField(max_length=10)
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "party_ref"], name="vault_identity_source_key")]

    @property
    def context(self) -> str:
        return f"identity|{self.system}|{self.party_ref}"


class SealedRow(models.Model):
    """The raw form of a quarantined row that carries identifiers (the quarantine keeps a redacted copy)."""

    quarantined_row_id = models.BigIntegerField(unique=True)
    key_id = models.CharField(max_length=10)
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def context(self) -> str:
        return f"quarantine|{self.quarantined_row_id}"
