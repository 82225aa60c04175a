"""Branches of a session (Agents SDK `AdvancedSQLiteSession`): named lines of conversation.

A branch is a column on events plus one row here, not a child session: a branch's turns before
its fork point are its parent's (the SDK copies them; we store them once), its cost is the
session's cost, and the agent keeps addressing one session id while it switches branches. A
branch reads as its parent's events up to `fork_seq` followed by its own.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .sessions import AgentSession


class SessionBranch(models.Model):
    """A named branch of a session, forked from `parent` after event `fork_seq`."""

    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=100)
    parent = models.CharField(max_length=100, blank=True, default="")
    # The parent's events with seq <= fork_seq belong to this branch too (0: none).
    fork_seq = models.PositiveIntegerField(default=0)
    # The user turn the branch was created from (the SDK's `create_branch_from_turn`).
    from_turn = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the SDK's `delete_branch`: the branch is gone from the agent's reads and lists, its
    # own events are marked removed (kept in the record), and its name stays taken, as in the
    # SDK. The row stays too: branches forked from it still read its events up to their fork.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "name"], name="branch_session_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (from {self.parent or '-'} after #{self.fork_seq})"
