"""URL map: client API (Kumulos protocol), console JSON API, OpenAPI, console pages."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from apimethods import api as methods_api
from apimethods import compat
from apimethods.client import client_endpoint
from console import views
from console.accounts import api as accounts_api
from console.apps import api as apps_api
from console.events import ingest as events_ingest
from console.platform import api as platform_api
from console.schedules import api as schedules_api

api_patterns = [
    path("auth/me/", accounts_api.MeView.as_view()),
    path("auth/login/", accounts_api.LoginView.as_view()),
    path("auth/logout/", accounts_api.LogoutView.as_view()),
    path("auth/password/", accounts_api.PasswordView.as_view()),
    path("apps/", apps_api.AppListView.as_view()),
    path("apps/<int:app_id>/", apps_api.AppDetailView.as_view()),
    path("apps/<int:app_id>/rotate-secret/", apps_api.RotateSecretView.as_view()),
    path("apps/<int:app_id>/members/", apps_api.MemberListView.as_view()),
    path("apps/<int:app_id>/members/<int:user_id>/", apps_api.MemberDetailView.as_view()),
    path("apps/<int:app_id>/", include("console.tables.urls")),
    path("apps/<int:app_id>/kscripts/", methods_api.KScriptListView.as_view()),
    path("apps/<int:app_id>/kscripts/typings.d.ts", methods_api.KScriptTypingsView.as_view()),
    path("apps/<int:app_id>/kscripts/<int:method_id>/", methods_api.KScriptDetailView.as_view()),
    path("apps/<int:app_id>/kscripts/<int:method_id>/revisions/", methods_api.KScriptRevisionListView.as_view()),
    path(
        "apps/<int:app_id>/kscripts/<int:method_id>/revisions/<int:number>/",
        methods_api.KScriptRevisionDetailView.as_view(),
    ),
    path("apps/<int:app_id>/kscripts/<int:method_id>/run/", methods_api.KScriptRunView.as_view()),
    path("apps/<int:app_id>/deployments/", methods_api.DeploymentListView.as_view()),
    path("apps/<int:app_id>/", include("apimethods.urls")),
    path("apps/<int:app_id>/schedules/", include("console.schedules.urls")),
    path("apps/<int:app_id>/", include("console.events.urls")),
    path("apps/<int:app_id>/apimethods/", include("apimethods.actions.urls")),
    path("apps/<int:app_id>/logs/", include("console.logs.urls")),
    path("platform/apps/", platform_api.PlatformAppListView.as_view()),
    path("platform/apps/<int:app_id>/", platform_api.PlatformAppDetailView.as_view()),
    path("platform/users/", platform_api.PlatformUserListView.as_view()),
    path("platform/users/<int:user_id>/", platform_api.PlatformUserDetailView.as_view()),
    path("platform/schedules/", schedules_api.PlatformScheduleListView.as_view()),
    path("platform/apps/<int:app_id>/scheduling/", schedules_api.PlatformSchedulingView.as_view()),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    # Client API: lenient about versions, doubled and trailing slashes (protocol §1).
    re_path(r"^/*b2(?:\.[0-9]+)?/", client_endpoint),
    # The Kumulos SDKs' other hosts (push, crm, crash, links, stats) pointed here: every
    # /v1/ path, unknown ones a JSON 404. More specific /v1/ routes (events) go above it.
    re_path(events_ingest.PATH, events_ingest.endpoint),
    re_path(r"^/*v1/", compat.endpoint),
    path("api/", include(api_patterns)),
    path("healthz", views.health),
    path("", views.shell),
    re_path(r"^(?:login|apps|platform)(?:/.*)?$", views.shell),
    # No version segment at all: /{apiKey}/{method}.{format}
    re_path(r"^[^/]+/+[^/]+\.[^/]*/?$", client_endpoint),
]
