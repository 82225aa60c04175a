import os
import sys
import threading

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _serving() -> bool:
    """Whether this process serves pages (gunicorn, runserver): SESSIONSCOPE_WARM_LLM=1 or 0
    decides, else the command line does. Tests, migrations and workers never warm."""
    forced = os.environ.get("SESSIONSCOPE_WARM_LLM")
    if forced is not None:
        return forced == "1"
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    if "gunicorn" in program or "uvicorn" in program:
        return True
    # runserver's autoreloader runs the server in a child marked RUN_MAIN.
    return "runserver" in sys.argv[1:2] and os.environ.get("RUN_MAIN") == "true"


def _warm_llm() -> None:
    """Import litellm and count a few tokens, so the first page that counts (the compare page)
    does not pay the ~3 s import."""
    from . import llm

    try:
        llm.count_tokens("gpt-4o", text="warm up")
    except Exception:
        # A failed warm-up only means the first request that counts pays the import.
        return


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

        # In the background: the server answers at once, and a request that needs litellm
        # before the import is done waits on Python's import lock for the rest of it.
        if _serving():
            threading.Thread(target=_warm_llm, name="warm-litellm", daemon=True).start()
