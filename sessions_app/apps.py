from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Sessions"

    def ready(self) -> None:
        from .models import ApiKey, Project
        from .services.projects import api_key_cache_clear

        # A key or project changed here (the admin, a shell) must not be served from this
        # process's key cache; other processes pick it up within API_KEY_CACHE_SECONDS.
        def forget(**_: object) -> None:
            api_key_cache_clear()

        for model in (ApiKey, Project):
            post_save.connect(forget, sender=model, weak=False, dispatch_uid=f"keys-{model}")
            post_delete.connect(forget, sender=model, weak=False, dispatch_uid=f"keys-{model}-d")
