import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from fairdebt.config.models import CouncilProfile


class Command(BaseCommand):
    help = "Migrate, make a synthetic council, load it, run the nightly jobs, print a sign-in and serve 127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare everything but do not start the server")

    def handle(self, residents, seed, port, no_serve, **opts):
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("migrate", database="vault", verbosity=0)
        if not CouncilProfile.objects.exists():
            CouncilProfile.objects.create(name="Example Borough Council", note="demo")
        out = Path(settings.HOME) / "synth" / f"council-{residents}-{seed}"
        manifest = out / "manifest.json"
        if not manifest.exists():
            self.stdout.write(f"Making a synthetic council of {residents:,} residents ...")
            # Some rows are bad on purpose, so the quarantine has something to show.
            call_command("synth", residents=residents, seed=seed, out=str(out), as_of=timezone.localdate(), bad_rows=0.002)
        self.stdout.write("Loading its extracts (loading them again adds nothing) ...")
        call_command("ingest", manifest=str(manifest))
        self.stdout.write("Matching records into people (Splink over tokens) ...")
        call_command("link")
        self.stdout.write("Taking Breathing Space notices from a local stand-in for the register ...")
        self._breathing_space(out, seed)
        user, _ = get_user_model().objects.get_or_create(username="officer", defaults={"first_name": "Demo", "last_name": "Officer"})
        self._officers(user)
        call_command("nightly")
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.is_staff = True
        user.save()
        # The demo officer may re-identify people (each time audited) and read that audit.
        from django.contrib.auth.models import Permission

        user.user_permissions.add(*Permission.objects.filter(codename__in=[
            "reidentify", "view_reidentification_audit", "add_hold", "change_hold", "add_vulnerability", "view_vulnerability_details",
            "change_officer",
        ]))
        self.stdout.write(self.style.SUCCESS(
            f"\nReady in {time.perf_counter() - started:.0f}s. Open http://127.0.0.1:{port}/ and sign in as\n"
            f"    username: officer\n    password: {password}\n"
            f"(a new password is made each time you run make demo)\n"
        ))
        if not no_serve:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)

    def _breathing_space(self, council: Path, seed: int) -> None:
        """Serve the synthetic council's moratoria from the fake register and pull them over HTTP."""
        from fairdebt.fakes.breathing_space import FakeRegister, scenarios_from_council

        with FakeRegister(api_key="demo") as register:
            register.load(scenarios_from_council(council, seed, timezone.localdate()))
            call_command("breathing_space", "pull", url=register.url, key="demo", stdout=self.stdout)

    def _officers(self, demo_user) -> None:
        """A small income team with no patches: the demo officer works every workstream."""
        from fairdebt.worklists.models import Officer

        team = [
            (demo_user, "Income", ["prevent", "resolve", "recover"], ["vulnerability"], 400),
            ("priya.prevent", "Prevent", ["prevent"], [], 300),
            ("sam.resolve", "Resolve", ["resolve"], ["vulnerability"], 300),
            ("olu.recover", "Recover", ["recover"], ["court"], 300),
        ]
        for who, name, workstreams, skills, capacity in team:
            if isinstance(who, str):
                first, last = who.split(".")
                who, _ = get_user_model().objects.get_or_create(username=who, defaults={"first_name": first.title(), "last_name": last.title()})
            Officer.objects.get_or_create(user=who, defaults=dict(team=name, workstreams=workstreams, skills=skills, capacity=capacity))
