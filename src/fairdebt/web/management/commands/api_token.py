from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from fairdebt.web.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token for a user (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="default")

    def handle(self, username, name, **opts):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user called {username!r}. Create one with `fairdebt createsuperuser` first.")
        _, key = ApiToken.issue(user, name)
        self.stdout.write(key)
