from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "fairdebt.people"
    label = "people"
