"""URLs of the API method endpoints, under /api/apps/<app_id>/apimethods/."""

from django.urls import path

from apimethods.actions import api

urlpatterns = [
    path("", api.ApiMethodListView.as_view()),
    path("impact/", api.ApiMethodImpactView.as_view()),
    path("<int:method_id>/", api.ApiMethodDetailView.as_view()),
    path("<int:method_id>/revisions/", api.ApiMethodRevisionListView.as_view()),
    path("<int:method_id>/revisions/<int:number>/", api.ApiMethodRevisionDetailView.as_view()),
    path("<int:method_id>/run/", api.ApiMethodRunView.as_view()),
]
