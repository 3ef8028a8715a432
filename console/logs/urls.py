"""URLs of the Logs page's API, included under /api/apps/<app_id>/logs/."""

from django.urls import path

from console.logs import api

urlpatterns = [
    path("", api.LogListView.as_view()),
    path("<str:kind>/<int:entry_id>/", api.LogEntryView.as_view()),
]
