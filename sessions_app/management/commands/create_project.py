from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.errors import DomainError
from sessions_app.services.projects import project_create


class Command(BaseCommand):
    help = "Create a project (the tenant that API keys, sessions and prices belong to)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug: str, name: str, **options) -> None:
        try:
            project = project_create(slug=slug, name=name)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Created project {project.slug!r} ({project.name}).")
