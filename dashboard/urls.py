"""Dashboard pages (namespaced "dashboard"). Other areas link to these names: keep them."""

from django.urls import path

from .views import home, manage, session, sessions, settings, tree

app_name = "dashboard"

S = "p/<slug:slug>/sessions/<int:pk>/"

urlpatterns = [
    path("", home.home, name="home"),
    path("p/<slug:slug>/", home.project_home, name="project_home"),
    path("p/<slug:slug>/sessions/", sessions.session_list, name="session_list"),
    path(S, session.session_detail, name="session_detail"),
    # The transcript's pages (keyset by seq): the session view renders them as a partial.
    path(f"{S}events/", session.session_detail, name="session_events"),
    path(f"{S}events/<int:seq>/", session.event_payload, name="event_payload"),
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
    path("p/<slug:slug>/settings/retention/", settings.retention_set, name="retention_set"),
]
