from django.core.management.base import BaseCommand

from fairdebt.vault import services


class Command(BaseCommand):
    help = (
        "Rotate the token and seal keys: re-seal the vault, re-tokenise every party, then destroy the old keys. "
        "Back up $FAIRDEBT_HOME/keys first; see docs/operations.md."
    )

    def handle(self, **opts):
        counts = services.rotate_keys()
        self.stdout.write(
            f"Keys rotated: {counts['identities']:,} identities and {counts['sealed_rows']:,} quarantined rows re-sealed, "
            f"{counts['parties']:,} parties re-tokenised, {counts['quarantined_rows']:,} fingerprints re-keyed."
        )
        if counts["parties_without_identity"]:
            self.stdout.write(
                f"{counts['parties_without_identity']:,} parties were delivered already pseudonymised and have no vault "
                "identity here: pseudonymise their extracts again with the new key (fairdebt pseudonymise) and load them."
            )
