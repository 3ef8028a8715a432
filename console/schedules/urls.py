"""URLs of the schedules API, included under /api/apps/<app_id>/schedules/."""

from django.urls import path

from console.schedules import api

urlpatterns = [
    path("", api.ScheduleListView.as_view()),
    path("preview/", api.SchedulePreviewView.as_view()),
    path("timezones/", api.TimeZoneListView.as_view()),
    path("<int:schedule_id>/", api.ScheduleDetailView.as_view()),
    path("<int:schedule_id>/run/", api.ScheduleRunNowView.as_view()),
    path("<int:schedule_id>/runs/", api.ScheduleRunListView.as_view()),
    path("<int:schedule_id>/runs/<int:run_id>/", api.ScheduleRunDetailView.as_view()),
]
