"""Dashboard pages (namespaced "dashboard"). Other areas link to these names: keep them."""

from django.urls import path

from .views import (
    assets,
    budgets,
    bulk,
    costs,
    home,
    manage,
    payloads,
    prices,
    queues,
    review,
    saved_views,
    session,
    sessions,
    settings,
    share,
    transcript,
    tree,
)
from .views import compare as compare_views
from .views import summaries as summary_views

app_name = "dashboard"

S = "p/<slug:slug>/sessions/<int:pk>/"

urlpatterns = [
    path("", home.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page says; the icon itself is a static SVG.
    path("favicon.ico", assets.favicon, name="favicon"),
    path("p/<slug:slug>/", home.project_home, name="project_home"),
    path("p/<slug:slug>/sessions/", sessions.session_list, name="session_list"),
    path("p/<slug:slug>/sessions/bulk/", bulk.sessions_bulk, name="sessions_bulk"),
    path("p/<slug:slug>/views/new/", saved_views.saved_view_new, name="saved_view_new"),
    path(
        "p/<slug:slug>/views/<int:view_id>/delete/",
        saved_views.saved_view_remove,
        name="saved_view_remove",
    ),
    path(S, session.session_detail, name="session_detail"),
    path(f"{S}share/", share.session_share, name="session_share"),
    path("p/<slug:slug>/settings/share-links/", share.share_links, name="share_links"),
    path(
        "p/<slug:slug>/share-links/<int:link_id>/revoke/",
        share.share_link_revoke_view,
        name="share_link_revoke",
    ),
    # A share link's page: no project in the address, no account needed.
    path("share/<str:token>/", share.shared_session, name="shared_session"),
    # The transcript's pages (keyset by seq): the session view renders them as a partial.
    path(f"{S}events/", session.session_detail, name="session_events"),
    path(f"{S}events/<int:seq>/", session.event_payload, name="event_payload"),
    path(f"{S}events/<int:seq>/content/", payloads.event_content_view, name="event_content"),
    path(f"{S}state/", payloads.session_state_view, name="session_state"),
    path(f"{S}children/", session.session_children, name="session_children"),
    # Stable addresses: a session by its own id (`/` in it sent as %2F: the path converter
    # takes it whole), the header's paste box, next/previous error or search hit.
    path(
        "p/<slug:slug>/s/<path:external_id>",
        transcript.session_by_external_id,
        name="session_by_id",
    ),
    path("p/<slug:slug>/go/", transcript.go_to_id, name="go_to_id"),
    path(f"{S}jump/", transcript.session_jump, name="session_jump"),
    path(f"{S}tree/", tree.session_tree, name="session_tree"),
    path(f"{S}review/", manage.session_review, name="session_review"),
    path(f"{S}archive/", manage.session_archive, name="session_archive"),
    path(f"{S}delete/", manage.session_delete_view, name="session_delete"),
    path(f"{S}export.<str:fmt>", manage.session_export, name="session_export"),
    path("p/<slug:slug>/settings/", settings.settings_page, name="settings"),
    path("p/<slug:slug>/settings/keys/", settings.api_key_new, name="api_key_new"),
    path(
        "p/<slug:slug>/settings/keys/<int:key_id>/revoke/",
        settings.api_key_revoke_view,
        name="api_key_revoke",
    ),
    path("p/<slug:slug>/settings/members/", settings.member_set, name="member_set"),
    path(
        "p/<slug:slug>/settings/members/<int:member_id>/remove/",
        settings.member_remove,
        name="member_remove",
    ),
    path("p/<slug:slug>/settings/retention/", settings.retention_set, name="retention_set"),
    path(f"{S}compare/", compare_views.session_compare, name="session_compare"),
    path(f"{S}summaries/", summary_views.session_summaries, name="session_summaries"),
    path(
        "p/<slug:slug>/summaries/<int:summary_id>/",
        summary_views.summary_status,
        name="summary_status",
    ),
    path("p/<slug:slug>/costs/", costs.costs, name="costs"),
    path("p/<slug:slug>/costs/reprice/", costs.reprice, name="reprice"),
    path("p/<slug:slug>/prices/", prices.prices, name="prices"),
    path("p/<slug:slug>/prices/new/", prices.price_new, name="price_new"),
    path("p/<slug:slug>/prices/reprice/", prices.reprice_stored, name="reprice_stored"),
    path("p/<slug:slug>/prices/<int:price_id>/delete/", prices.price_remove, name="price_remove"),
    path("p/<slug:slug>/budgets/", budgets.budgets, name="budgets"),
    path("p/<slug:slug>/budgets/new/", budgets.budget_new, name="budget_new"),
    path("p/<slug:slug>/budgets/webhook/", budgets.alert_webhook_set, name="alert_webhook_set"),
    # Review (issue 18): a session's review panel and actions, score configs, queues.
    path(f"{S}review-panel/", review.review_panel, name="review_panel"),
    path(f"{S}comments/", review.comment_new, name="comment_new"),
    path(f"{S}comments/<int:comment_id>/", review.comment_change, name="comment_change"),
    path(f"{S}scores/", review.score_new, name="score_new"),
    path(f"{S}queue/", review.queue_add, name="session_queue_add"),
    path("p/<slug:slug>/scores/", review.score_configs, name="score_configs"),
    path(
        "p/<slug:slug>/scores/<int:config_id>/",
        review.score_config_edit,
        name="score_config_edit",
    ),
    path("p/<slug:slug>/scores/viewers/", review.viewers_may_review, name="viewers_may_review"),
    path("p/<slug:slug>/queues/", queues.queue_list, name="queue_list"),
    path("p/<slug:slug>/queues/<int:queue_id>/", queues.queue_detail, name="queue_detail"),
    path("p/<slug:slug>/queues/<int:queue_id>/rule/", queues.queue_rule_run, name="queue_rule"),
    path("p/<slug:slug>/queues/<int:queue_id>/work/", queues.queue_work, name="queue_work"),
    path(
        "p/<slug:slug>/queues/<int:queue_id>/items/<int:item_id>/",
        queues.queue_item,
        name="queue_item",
    ),
    path(
        "p/<slug:slug>/queues/<int:queue_id>/items/<int:item_id>/done/",
        queues.queue_item_done,
        name="queue_item_done",
    ),
    path(
        "p/<slug:slug>/budgets/<int:budget_id>/delete/",
        budgets.budget_remove,
        name="budget_remove",
    ),
]
