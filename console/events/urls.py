"""URLs of the events, users and automations API, included under /api/apps/<app_id>/."""

from django.urls import path

from console.events import api

urlpatterns = [
    path("events/", api.EventListView.as_view()),
    path("events/counts/", api.EventCountView.as_view()),
    path("users/", api.UserListView.as_view()),
    path("automations/", api.AutomationListView.as_view()),
    path("automations/<int:automation_id>/", api.AutomationDetailView.as_view()),
    path("automations/<int:automation_id>/runs/", api.AutomationRunListView.as_view()),
    path("automations/<int:automation_id>/runs/<int:run_id>/", api.AutomationRunDetailView.as_view()),
]
