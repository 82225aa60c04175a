"""The Sessionscope data model. `Project` is the tenant; every other row belongs to one project.

Deletion rules (docs/data-model.md): deleting a session deletes its whole subtree (sub-agent
children and summary segments have no meaning without the conversation that started them) along
with every event, run, token usage row and summary of those sessions. Foreign keys that point at
`Event` and `Run` are DO_NOTHING at the ORM level so that a session's events are deleted with one
`DELETE ... WHERE session_id IN (...)` instead of being loaded into memory by Django's collector;
the database still enforces them (deferred), and the services delete dependants first.

Modules: `projects` (tenants and access), `sessions` (sessions and runs), `events` (events and
token usage), `summaries`, `costs` (prices, the daily aggregate, budgets), `outbox` (tasks
waiting for the broker), `review` (comments, scores, annotation queues, review history),
`sharing` (saved views, share links), `branches` (a session's named branches). Import models
from the package (`from sessions_app.models import Event`).
"""

from .branches import SessionBranch
from .costs import Budget, BudgetAlert, DailyUsage, ModelPrice
from .events import MAIN_BRANCH, Event, TokenUsage
from .outbox import OutboxTask
from .projects import ApiKey, Membership, Project, RetentionRun
from .review import (
    AnnotationQueue,
    Comment,
    DataType,
    QueueItem,
    ReviewEvent,
    Score,
    ScoreConfig,
    SessionScore,
)
from .sessions import AgentSession, Run
from .sharing import SavedView, ShareLink
from .summaries import Summary

__all__ = [
    "MAIN_BRANCH",
    "AgentSession",
    "AnnotationQueue",
    "ApiKey",
    "Budget",
    "BudgetAlert",
    "Comment",
    "DailyUsage",
    "DataType",
    "Event",
    "Membership",
    "ModelPrice",
    "OutboxTask",
    "Project",
    "QueueItem",
    "RetentionRun",
    "ReviewEvent",
    "Run",
    "SavedView",
    "Score",
    "ScoreConfig",
    "SessionBranch",
    "SessionScore",
    "ShareLink",
    "Summary",
    "TokenUsage",
]
