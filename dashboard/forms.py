"""Forms of the dashboard: the small POST forms of the actions (the sessions list's filters are
`sessions_app.list_query.SessionFilterForm`, which queue rules read too)."""

from __future__ import annotations

from django import forms

from sessions_app.models import AgentSession, Membership, Project


class ReviewForm(forms.Form):
    """A review mark and note on a session."""

    review_status = forms.ChoiceField(required=False, choices=AgentSession.Review.choices)
    review_note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)


class ApiKeyForm(forms.Form):
    """A new API key's name."""

    name = forms.CharField(max_length=200)


class MemberForm(forms.Form):
    """A user (by username) and the role to give them in the project."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class RetentionForm(forms.Form):
    """A project's retention policy: days idle (blank for none) and what to do."""

    retention_days = forms.IntegerField(required=False, min_value=1, max_value=36_500)
    retention_action = forms.ChoiceField(choices=Project.RetentionAction.choices)
