class VaultRouter:
    """The vault app lives in the `vault` database and nothing else does."""

    def db_for_read(self, model, **hints):
        return "vault" if model._meta.app_label == "vault" else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return (obj1._meta.app_label == "vault") == (obj2._meta.app_label == "vault")

    def allow_migrate(self, db, app_label, **hints):
        return db == "vault" if app_label == "vault" else db == "default"
