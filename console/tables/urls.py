"""URLs of the tables API, included under /api/apps/<app_id>/."""

from django.urls import path

from console.tables import api

urlpatterns = [
    path("definition/", api.AppDefinitionView.as_view()),
    path("tables/", api.TableListView.as_view()),
    path("tables/<int:table_id>/", api.TableDetailView.as_view()),
    path("tables/<int:table_id>/fields/", api.FieldListView.as_view()),
    path("tables/<int:table_id>/fields/<int:field_id>/", api.FieldDetailView.as_view()),
    path("tables/<int:table_id>/indexes/", api.IndexListView.as_view()),
    path("tables/<int:table_id>/indexes/<int:index_id>/", api.IndexDetailView.as_view()),
    path("tables/<int:table_id>/records/", api.RecordListView.as_view()),
    path("tables/<int:table_id>/records/<int:record_id>/", api.RecordDetailView.as_view()),
    path("tables/<int:table_id>/records/<int:record_id>/dependents/", api.RecordDependentsView.as_view()),
    path("tables/<int:table_id>/csv/", api.CsvExportView.as_view()),
    path("tables/<int:table_id>/csv/preview/", api.CsvPreviewView.as_view()),
    path("tables/<int:table_id>/csv/imports/", api.CsvImportView.as_view()),
    path("tables/<int:table_id>/csv/imports/<int:import_id>/", api.CsvImportDetailView.as_view()),
]
