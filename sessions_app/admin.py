"""Admin for every model: for inspection, so rollups and server-owned fields are read-only."""

from django.contrib import admin

from .models import (
    AgentSession,
    ApiKey,
    Budget,
    BudgetAlert,
    DailyUsage,
    Event,
    Membership,
    ModelPrice,
    OutboxTask,
    Project,
    RetentionRun,
    Run,
    Summary,
    TokenUsage,
)

ROLLUPS = (
    "event_count",
    "last_seq",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "error_count",
    "children_count",
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at", "retention_days", "retention_action")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "role", "created_at")
    list_filter = ("role", "project")
    search_fields = ("user__username", "project__slug")
    autocomplete_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("project", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    # Keys are created with `manage.py create_api_key` or the dashboard, which show the secret once.
    readonly_fields = ("prefix", "secret_hash", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False


class ChildInline(admin.TabularInline):
    model = AgentSession
    fk_name = "parent"
    fields = ("external_id", "kind", "title", "event_count", "total_tokens", "cost_usd")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    max_num = 0


@admin.register(AgentSession)
class AgentSessionAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "title",
        "project",
        "kind",
        "agent_name",
        "user_ref",
        "status",
        "event_count",
        "total_tokens",
        "cost_usd",
        "error_count",
        "last_event_at",
    )
    list_filter = ("project", "kind", "status", "review_status")
    search_fields = ("external_id", "title", "agent_name", "user_ref")
    readonly_fields = (
        *ROLLUPS,
        "root",
        "path",
        "depth",
        "preview",
        "created_at",
        "updated_at",
        "last_event_at",
        "continued_in",
    )
    raw_id_fields = ("parent", "reviewed_by")
    show_full_result_count = False
    list_select_related = ("project",)
    inlines = [ChildInline]


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("external_id", "session", "status", "agent_name", "started_at", "ended_at")
    list_filter = ("status", "project")
    search_fields = ("external_id", "agent_name", "session__external_id")
    raw_id_fields = ("session",)
    list_select_related = ("session",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("external_id", "session", "seq", "source", "type", "role", "name", "timestamp")
    list_filter = ("type", "source", "role", "is_error", "payload_format")
    search_fields = ("external_id", "session__external_id")
    raw_id_fields = ("session", "run", "parent_event")
    readonly_fields = ("seq", "received_at", "body_hash")
    show_full_result_count = False
    list_select_related = ("session",)


@admin.register(TokenUsage)
class TokenUsageAdmin(admin.ModelAdmin):
    list_display = (
        "model",
        "session",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost_usd",
        "cost_source",
        "tokens_estimated",
        "timestamp",
    )
    list_filter = ("cost_source", "tokens_estimated", "project")
    search_fields = ("model", "session__external_id")
    raw_id_fields = ("session", "run", "event")
    show_full_result_count = False
    list_select_related = ("session",)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "pattern",
        "project",
        "input_cost_per_token",
        "output_cost_per_token",
        "effective_from",
    )
    list_filter = ("project",)
    search_fields = ("pattern",)


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = (
        "session",
        "strategy",
        "model",
        "status",
        "extractive",
        "covers_up_to_seq",
        "cost_usd",
        "created_at",
    )
    list_filter = ("status", "strategy", "extractive")
    search_fields = ("session__external_id", "model")
    raw_id_fields = ("session", "event", "segment", "requested_by")


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    list_display = (
        "day",
        "project",
        "model",
        "agent_name",
        "user_ref",
        "cost_source",
        "events",
        "total_tokens",
        "cost_usd",
    )
    list_filter = ("project", "cost_source")
    search_fields = ("model", "agent_name", "user_ref")
    date_hierarchy = "day"


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ("project", "scope", "target", "period", "amount_usd", "warn_ratio")
    list_filter = ("scope", "period", "project")


@admin.register(BudgetAlert)
class BudgetAlertAdmin(admin.ModelAdmin):
    list_display = ("budget", "level", "period_start", "spent_usd", "created_at")
    list_filter = ("level",)


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):
    list_display = (
        "project",
        "ran_at",
        "action",
        "idle_days",
        "sessions_affected",
        "events_deleted",
    )
    list_filter = ("project", "action")


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    """Tasks waiting for the broker: the beat sweep sends them once it is back."""

    list_display = ("task_name", "args", "created_at", "attempts", "last_error")
    readonly_fields = ("task_name", "args", "created_at", "attempts", "last_error")
