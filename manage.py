#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings, which check the environment
    except ImproperlyConfigured as exc:
        # Django would go on without its apps and fail later with "Models aren't loaded yet".
        # The README's environment table lists every variable; `make` targets set SECRET_KEY.
        sys.exit(f"manage.py: {exc} The README lists the environment variables.")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
