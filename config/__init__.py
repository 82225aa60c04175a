"""Sessionscope project package.

litellm fetches its model price table from the network when it is imported unless this switch is
the exact string "True"; setting it here, before settings or the Celery app load, means no code
path can import litellm without it. The HF switch stops tokenizer downloads for non-OpenAI models.
"""

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .celery import app as celery_app

__all__ = ("celery_app",)
