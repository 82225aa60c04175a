"""The agents' HTTP API (django-ninja): one router per area, mounted in config/api.py."""
