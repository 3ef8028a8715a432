"""Console JSON API for tables, fields, indexes, records, CSV and app definitions.

Views are thin: they parse input, call one service or query, and shape the answer.
All of them subclass AppScopedAPIView, so outsiders get 404 before anything runs.
See docs/tables-api.md for the shapes.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import AppScopedAPIView
from console.apps.models import Role
from console.tables import appformat, csvio, queries, services
from console.tables.models import Field, Index, OnDelete, Table


def _field(field: Field) -> dict[str, Any]:
    return {
        "id": field.pk,
        "name": field.name,
        "type": field.type,
        "position": field.position,
        "target": {"id": field.target.pk, "name": field.target.name} if field.target else None,
        "on_delete": field.on_delete or None,
    }


def _index(index: Index) -> dict[str, Any]:
    return {"id": index.pk, "name": index.name, "fields": index.fields, "unique": index.unique, "automatic": False}


def table_shape(
    table: Table, *, with_count: bool = True, automatic: dict[int, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The Table answer; `automatic` is queries.automatic_indexes of the app (fetched if not given)."""
    if automatic is None:
        automatic = queries.automatic_indexes(table.app_id, [table])
    body: dict[str, Any] = {
        "id": table.pk,
        "name": table.name,
        "number": table.number,
        "alias": table.alias,
        "id_field": table.id_field,
        "system_fields": [
            {"name": table.id_field, "type": "integer"},
            {"name": "timeCreated", "type": "datetime"},
            {"name": "timeUpdated", "type": "datetime"},
        ],
        "fields": [_field(f) for f in table.fields.all()],
        "has_many": [
            {"table": {"id": f.table.pk, "name": f.table.name}, "field": f.name, "on_delete": f.on_delete}
            for f in table.inverse_fields.all()
        ],
        "indexes": [*(_index(i) for i in table.indexes.all()), *automatic.get(table.pk, [])],
    }
    if with_count:
        body["count"], body["count_exact"] = queries.record_count(table)
    return body


class NameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)


class FieldCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=20)
    target = serializers.IntegerField(required=False, allow_null=True)
    on_delete = serializers.ChoiceField(choices=OnDelete.choices, required=False, default=OnDelete.CASCADE)


class FieldUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    type = serializers.CharField(max_length=20, required=False)
    on_delete = serializers.ChoiceField(choices=OnDelete.choices, required=False)


class IndexSerializer(serializers.Serializer):
    fields = serializers.ListField(child=serializers.CharField(max_length=200), allow_empty=False)
    unique = serializers.BooleanField(required=False, default=False)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in {"1", "true", "yes"}


class TableListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        tables = queries.list_tables(self.app)
        automatic = queries.automatic_indexes(self.app.pk, tables)
        return Response([table_shape(t, automatic=automatic) for t in tables])

    @extend_schema(request=NameSerializer)
    def post(self, request: Request, app_id: int) -> Response:
        data = _valid(NameSerializer, request.data)
        table = services.create_table(self.app, data["name"])
        return Response(table_shape(table), status=status.HTTP_201_CREATED)


class TableDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, table_id: int) -> Response:
        return Response(table_shape(queries.get_table(self.app, table_id)))

    @extend_schema(request=NameSerializer)
    def patch(self, request: Request, app_id: int, table_id: int) -> Response:
        data = _valid(NameSerializer, request.data)
        table = services.rename_table(queries.get_table(self.app, table_id), data["name"])
        return Response(table_shape(table))

    def delete(self, request: Request, app_id: int, table_id: int) -> Response:
        services.drop_table(queries.get_table(self.app, table_id), confirm=_flag(request, "confirm"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FieldListView(AppScopedAPIView):
    @extend_schema(request=FieldCreateSerializer)
    def post(self, request: Request, app_id: int, table_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        data = _valid(FieldCreateSerializer, request.data)
        target = None
        if data.get("target") is not None:
            target = Table.objects.filter(app=self.app, pk=data["target"]).first()
            if target is None:
                return Response({"target": ["No such table in this app."]}, status=status.HTTP_400_BAD_REQUEST)
        field = services.add_field(table, data["name"], data["type"], target=target, on_delete=data["on_delete"])
        return Response(_field(field), status=status.HTTP_201_CREATED)


class FieldDetailView(AppScopedAPIView):
    @extend_schema(request=FieldUpdateSerializer)
    def patch(self, request: Request, app_id: int, table_id: int, field_id: int) -> Response:
        field = queries.get_field(queries.get_table(self.app, table_id), field_id)
        data = _valid(FieldUpdateSerializer, request.data)
        if _flag(request, "dry_run"):
            # What the type change would do to the values; nothing changes.
            return Response(services.type_change_effect(field, data.get("type", field.type)))
        # A rename and a type change sent together succeed or fail together.
        with transaction.atomic():
            if "name" in data:
                field = services.rename_field(field, data["name"])
            if "type" in data:
                field = services.change_field_type(field, data["type"], confirm=_flag(request, "confirm"))
            if "on_delete" in data:
                field = services.change_on_delete(field, data["on_delete"])
        return Response(_field(field))

    def delete(self, request: Request, app_id: int, table_id: int, field_id: int) -> Response:
        services.drop_field(queries.get_field(queries.get_table(self.app, table_id), field_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class IndexListView(AppScopedAPIView):
    @extend_schema(request=IndexSerializer)
    def post(self, request: Request, app_id: int, table_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        data = _valid(IndexSerializer, request.data)
        index = services.add_index(table, data["fields"], unique=data["unique"])
        return Response(_index(index), status=status.HTTP_201_CREATED)


class IndexDetailView(AppScopedAPIView):
    def delete(self, request: Request, app_id: int, table_id: int, index_id: int) -> Response:
        services.drop_index(queries.get_index(queries.get_table(self.app, table_id), index_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({name: ["Give a whole number."]}) from None


class RecordListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, table_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        q = request.query_params
        page = queries.BrowseRequest(
            sort=q.get("sort") or None,
            descending=q.get("direction", "asc").lower() == "desc",
            limit=_int_param(request, "limit", 50),
            offset=_int_param(request, "offset", 0),
            after=q.get("after") or None,
            filter_field=q.get("filter_field") or None,
            filter_op=q.get("filter_op") or "eq",
            filter_value=q.get("filter_value"),
        )
        return Response(queries.browse(table, page))

    def post(self, request: Request, app_id: int, table_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        return Response(services.insert_record(table, request.data), status=status.HTTP_201_CREATED)


class RecordDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, table_id: int, record_id: int) -> Response:
        return Response(queries.get_record(queries.get_table(self.app, table_id), record_id))

    def patch(self, request: Request, app_id: int, table_id: int, record_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        return Response(services.update_record(table, record_id, request.data))

    def delete(self, request: Request, app_id: int, table_id: int, record_id: int) -> Response:
        services.delete_record(queries.get_table(self.app, table_id), record_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordDependentsView(AppScopedAPIView):
    """What deleting the record would take with it (the cascade dialog's counts)."""

    def get(self, request: Request, app_id: int, table_id: int, record_id: int) -> Response:
        return Response(queries.dependents(queries.get_table(self.app, table_id), record_id))


def _csv_text(request: Request) -> str:
    upload = request.FILES.get("file") if hasattr(request, "FILES") else None
    if upload is not None:
        raw = upload.read()
    else:
        text = request.data.get("csv") if hasattr(request.data, "get") else None
        if not isinstance(text, str):
            raise serializers.ValidationError({"csv": ["Upload a CSV file (field 'file') or send its text as 'csv'."]})
        return text
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise serializers.ValidationError({"file": ["The file is not UTF-8 text."]}) from None


class CsvPreviewView(AppScopedAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def post(self, request: Request, app_id: int, table_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        return Response(csvio.preview(table, _csv_text(request)))


class CsvImportView(AppScopedAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def post(self, request: Request, app_id: int, table_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        job = csvio.start_import(table, _csv_text(request))
        return Response(csvio.job_shape(job), status=status.HTTP_202_ACCEPTED)


class CsvImportDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, table_id: int, import_id: int) -> Response:
        table = queries.get_table(self.app, table_id)
        return Response(csvio.job_shape(csvio.get_import(table, import_id)))


class CsvExportView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, table_id: int) -> StreamingHttpResponse:
        table = queries.get_table(self.app, table_id)
        q = request.query_params
        # The data browser's active filter, so the file holds what the grid shows.
        wanted = queries.BrowseRequest(
            filter_field=q.get("filter_field") or None,
            filter_op=q.get("filter_op") or "eq",
            filter_value=q.get("filter_value"),
        )
        # Checked before streaming starts, so a bad filter is a 400, not a broken download.
        queries.checked_filter(table, queries.column_types(table), wanted)
        rows = csvio.export_rows(table, wanted)
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{table.alias}.csv"'
        return response


class AppDefinitionView(AppScopedAPIView):
    # Importing can rename, retype and drop many tables at once: owners only.
    required_role = {"PUT": Role.OWNER}

    def get(self, request: Request, app_id: int) -> Response:
        return Response(appformat.export_app(self.app))

    def put(self, request: Request, app_id: int) -> Response:
        report = appformat.import_app(self.app, request.data, drop_missing=request.query_params.get("drop") == "true")
        return Response({"changes": report})
