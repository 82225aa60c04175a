"""Dashboard pages (namespaced "dashboard"). Other areas link to these names: keep them."""

from django.urls import path

from .views import (
    assets,
    budgets,
    costs,
    home,
    manage,
    payloads,
    prices,
    session,
    sessions,
    settings,
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
    path(S, session.session_detail, name="session_detail"),
    # The transcript's pages (keyset by seq): the session view renders them as a partial.
    path(f"{S}events/", session.session_detail, name="session_events"),
    path(f"{S}events/<int:seq>/", session.event_payload, name="event_payload"),
    path(f"{S}events/<int:seq>/content/", payloads.event_content_view, name="event_content"),
    path(f"{S}state/", payloads.session_state_view, name="session_state"),
    path(f"{S}children/", session.session_children, name="session_children"),
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
    path(
        "p/<slug:slug>/budgets/<int:budget_id>/delete/",
        budgets.budget_remove,
        name="budget_remove",
    ),
]
