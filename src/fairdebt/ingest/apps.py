from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "fairdebt.ingest"
    label = "ingest"
