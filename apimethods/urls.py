"""URLs of the KScript IDE's drafts and symbols and of deploy reviews and rollbacks,
under /api/apps/<app_id>/ (the older KScript and deployment URLs are in console/urls.py)."""

from django.urls import path

from apimethods import api, usage

urlpatterns = [
    path("kscripts/symbols/", api.KScriptSymbolsView.as_view()),
    path("kscripts/<int:method_id>/draft/", api.KScriptDraftView.as_view()),
    path("kscripts/<int:method_id>/names/", usage.KScriptNamesView.as_view()),
    path("tables/<int:table_id>/usage/", usage.TableUsageView.as_view()),
    path("deployments/preview/", api.DeploymentPreviewView.as_view()),
    path("deployments/diff/", api.DeploymentDiffView.as_view()),
    path("deployments/<int:number>/rollback/", api.DeploymentRollbackView.as_view()),
]
