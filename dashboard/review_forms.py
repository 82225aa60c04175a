"""Forms of the review workflow: comments, scores, score configs and annotation queues."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from sessions_app.models import DataType, ScoreConfig

TRUE_WORDS = {"true", "yes", "1", "on"}
FALSE_WORDS = {"false", "no", "0", "off"}


def value_from_text(config: ScoreConfig | None, text: str) -> Any:
    """A score typed in a form, as the JSON value the API would take: by the config's type, or
    (ad hoc) a number if it reads as one, true/false, else a label. The service checks it."""
    text = text.strip()
    data_type = config.data_type if config else ""
    if data_type == DataType.BOOLEAN or (not config and text.lower() in {"true", "false"}):
        lowered = text.lower()
        return True if lowered in TRUE_WORDS else False if lowered in FALSE_WORDS else text
    if data_type == DataType.NUMERIC or not config:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text


class CommentForm(forms.Form):
    text = forms.CharField(max_length=10_000, widget=forms.Textarea)
    event = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class ScoreForm(forms.Form):
    name = forms.CharField(max_length=100)
    value = forms.CharField(max_length=200)
    comment = forms.CharField(required=False, max_length=10_000)
    event = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class ScoreConfigForm(forms.Form):
    name = forms.CharField(max_length=100)
    data_type = forms.ChoiceField(choices=DataType.choices)
    min_value = forms.FloatField(required=False)
    max_value = forms.FloatField(required=False)
    categories = forms.CharField(required=False, max_length=5000, help_text="Comma-separated")
    description = forms.CharField(required=False, max_length=2000)

    def clean_categories(self) -> list[str]:
        raw = self.cleaned_data.get("categories", "")
        return [c.strip() for c in raw.split(",") if c.strip()]


class QueueForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)
    score_configs = forms.MultipleChoiceField(required=False)
    members = forms.MultipleChoiceField(required=False)
    rule_query = forms.CharField(required=False, max_length=2000)
    rule_sample_percent = forms.IntegerField(required=False, min_value=1, max_value=100)
    rule_enabled = forms.BooleanField(required=False)

    def __init__(
        self, *args: Any, configs: list[ScoreConfig], users: list[User], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Choices from lists the view read through selectors: the form runs no query of its own.
        config_field = self.fields["score_configs"]
        member_field = self.fields["members"]
        assert isinstance(config_field, forms.MultipleChoiceField)
        assert isinstance(member_field, forms.MultipleChoiceField)
        config_field.choices = [(str(c.pk), c.name) for c in configs]
        member_field.choices = [(str(u.pk), u.get_username()) for u in users]
        self._configs = {str(c.pk): c for c in configs}
        self._users = {str(u.pk): u for u in users}

    def clean_score_configs(self) -> list[ScoreConfig]:
        return [self._configs[v] for v in self.cleaned_data.get("score_configs", [])]

    def clean_members(self) -> list[User]:
        return [self._users[v] for v in self.cleaned_data.get("members", [])]
