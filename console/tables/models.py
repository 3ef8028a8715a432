"""Metadata of an app's data: tables, their fields (with relations) and indexes.

The rows themselves live in the app's PostgreSQL schema (see ddl.py / isolation.py);
these models describe them and are changed in the same transaction as the DDL.
"""

from __future__ import annotations

from django.db import models
from django.dispatch import Signal

from console.apps.models import App
from console.tables import ddl

# Sent once a schema change of an app has committed, with the app's id as `app_id`
# (processes that cache per schema version listen; other processes learn of it through
# the database: see apimethods/appfacts.py).
schema_changed = Signal()


class FieldType(models.TextChoices):
    STRING = "string", "String"
    TEXT = "text", "Text"
    INTEGER = "integer", "Integer"
    FLOAT = "float", "Float"
    BOOLEAN = "boolean", "Boolean"
    DATETIME = "datetime", "Date/Time"
    DATA = "data", "Data"
    BELONGS_TO = "belongs_to", "Belongs To"


class OnDelete(models.TextChoices):
    CASCADE = "cascade", "Delete the children too"
    SET_EMPTY = "set_empty", "Empty the field in the children"
    PREVENT = "prevent", "Refuse while children exist"


class TableSequence(models.Model):
    """The last table number handed out in an app, so numbers (and aliases) are never reused,
    and the app's schema version."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="table_sequence")
    last_number = models.PositiveIntegerField(default=0)
    # Bumped in the transaction of every schema change (services._lock): processes cache
    # table metadata under it (scripting.app_tables) and read it with the app on each call.
    schema_version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"app {self.app_id}: table {self.last_number}"


class Table(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="tables")
    # Per app, never reused (see services.create_table); the middle part of the alias.
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=ddl.MAX_IDENTIFIER_LENGTH)  # plural, e.g. "users"
    # Every earlier name, oldest first: `<app>_<number>_<former name>` still names this
    # table in KScript, so deployed code survives a rename (scripting.load_tables).
    former_names = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "number"], name="one_table_number_per_app"),
            models.UniqueConstraint(fields=["app", "name"], name="one_table_name_per_app"),
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.alias

    @property
    def alias(self) -> str:
        return f"{self.app_id}_{self.number}_{self.name}"

    @property
    def aliases(self) -> list[str]:
        """The current alias, then one for each former name (newest first)."""
        names = [self.name, *reversed([n for n in self.former_names if n != self.name])]
        return [f"{self.app_id}_{self.number}_{n}" for n in dict.fromkeys(names)]

    @property
    def id_field(self) -> str:
        return ddl.id_field_name(self.name)

    @property
    def schema(self) -> str:
        return ddl.schema_name(self.app_id)


class Field(models.Model):
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=ddl.MAX_IDENTIFIER_LENGTH)
    type = models.CharField(max_length=16, choices=FieldType.choices)
    position = models.PositiveIntegerField(default=0)
    # Belongs To only: the parent table and what deleting a parent does to this row.
    target = models.ForeignKey(Table, on_delete=models.SET_NULL, null=True, blank=True, related_name="inverse_fields")
    on_delete = models.CharField(max_length=16, choices=OnDelete.choices, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "name"], name="one_field_name_per_table")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.table.name}.{self.name}"


class Index(models.Model):
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="indexes")
    name = models.CharField(max_length=ddl.MAX_IDENTIFIER_LENGTH)  # PostgreSQL's name
    fields = models.JSONField()  # field names in order, e.g. ["lastName", "firstName"]
    unique = models.BooleanField(default=False)  # no two records share these fields' values

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "name"], name="one_index_name_per_table")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({', '.join(self.fields)})"


class CsvImport(models.Model):
    """One CSV import: its text, its progress and its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed; nothing imported"

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="csv_imports")
    content = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # [{"row": 3, "field": "age", "value": "old", "message": "..."}]
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"CSV import {self.pk} into table {self.table_id}: {self.status}"
