from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from sessions_app.errors import DomainError
from sessions_app.models import Membership, Project
from sessions_app.services.projects import membership_set


class Command(BaseCommand):
    help = "Create (or update) a dashboard user and give them a role in a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--project", help="slug of the project to join")
        parser.add_argument(
            "--role", default=Membership.Role.VIEWER, choices=Membership.Role.values
        )
        parser.add_argument("--superuser", action="store_true", help="sees every project")

    def handle(
        self,
        *args,
        username: str,
        password: str,
        email: str,
        project: str | None,
        role: str,
        superuser: bool,
        **options,
    ) -> None:
        # All or nothing: a refused role leaves the user's password and flags as they were.
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(
                username=username, defaults={"email": email}
            )
            user.set_password(password)
            if superuser:
                user.is_superuser = user.is_staff = True
            user.save()
            if project:
                found = Project.objects.filter(slug=project).first()
                if found is None:
                    raise CommandError(f"No project with slug {project!r}.")
                try:
                    membership_set(user=user, project=found, role=role)
                except DomainError as exc:
                    raise CommandError(exc.detail) from exc
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} user {username!r}" + (f" ({role} in {project})" if project else "")
        )
