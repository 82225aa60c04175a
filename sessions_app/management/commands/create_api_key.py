from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import Project
from sessions_app.services.projects import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a project. The secret is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument("--name", default="cli", help="a label for the key")

    def handle(self, *args, project: str, name: str, **options) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug {project!r}.")
        key, token = api_key_create(project=found, name=name)
        self.stdout.write(f"Created key {key.name!r} for {found.slug} (prefix {key.prefix}).")
        self.stdout.write("Store this secret now; it is not shown again:")
        self.stdout.write(token)
