"""This app's names for the KScript IDE: table aliases with their fields, and method names.

`app_symbols` reads them (the Insert picker shows them as JSON); `render_app_dts` turns
them into TypeScript declarations appended to the K API's (runtime.typings), so Monaco
completes `K.select('` with the app's real aliases, `.filter('` with that table's fields,
`include('` and `K.callAPIMethod('` with method names. The declarations only add
overloads: a name typed by hand that is not listed still type-checks as a string.
"""

from __future__ import annotations

import json
from typing import Any

from apimethods.models import ApiMethod, KScriptMethod
from console.apps.models import App
from console.tables import ddl
from console.tables.models import Table


def app_symbols(app: App) -> dict[str, Any]:
    """{"tables": [{name, alias, fields: [{name, type}]}], "methods": [{name, kind}]}, by name.
    A table's fields are its ID field, its own fields in order, then timeCreated and timeUpdated."""
    tables = []
    for table in Table.objects.filter(app=app).prefetch_related("fields").order_by("name", "id"):
        fields = [{"name": ddl.id_field_name(table.name), "type": "integer"}]
        fields += [{"name": f.name, "type": f.type} for f in table.fields.all()]
        fields += [{"name": "timeCreated", "type": "datetime"}, {"name": "timeUpdated", "type": "datetime"}]
        tables.append({"name": table.name, "alias": table.alias, "fields": fields})
    methods = [
        {"name": name, "kind": "apimethod"} for name in ApiMethod.objects.filter(app=app).values_list("name", flat=True)
    ]
    if app.kscript_enabled:
        methods += [
            {"name": name, "kind": "kscript"}
            for name in KScriptMethod.objects.filter(app=app).values_list("name", flat=True)
        ]
    methods.sort(key=lambda m: m["name"].lower())
    return {"tables": tables, "methods": methods}


def _union(names: list[str]) -> str:
    return " | ".join(json.dumps(n) for n in names) if names else "never"


def render_app_dts(symbols: dict[str, Any]) -> str:
    """TypeScript declarations for one app's names (pure)."""
    tables = symbols["tables"]
    methods = [m["name"] for m in symbols["methods"]]
    scripts = [m["name"] for m in symbols["methods"] if m["kind"] == "kscript"]
    parts = ["// This app's tables and methods (apimethods.ide.render_app_dts)."]
    parts.append(f"/** This app's tables, by alias. */\ntype KTableAlias = {_union([t['alias'] for t in tables])};")
    lines = ["/** Each table's fields, by alias. */", "interface KTableFields {"]
    lines += [f"  {json.dumps(t['alias'])}: {_union([f['name'] for f in t['fields']])};" for t in tables]
    parts.append("\n".join(lines) + "\n}")
    parts.append(f"/** This app's methods (KScript and API methods). */\ntype KMethodName = {_union(methods)};")
    parts.append(
        """interface KSelectOn<F extends string> extends KSelectAction {
  filter(field: F, value: any): KSelectOn<F>;
  filter(field: F, op: KFilterOp, value: any): KSelectOn<F>;
  filter(equalities: { [field in F]?: any }): KSelectOn<F>;
  sort(field: F, direction?: 'ASC' | 'DESC'): KSelectOn<F>;
  limit(n: number, offset?: number): KSelectOn<F>;
}
interface KUpdateOn<F extends string> extends KUpdateAction {
  filter(field: F, value: any): KUpdateOn<F>;
  filter(field: F, op: KFilterOp, value: any): KUpdateOn<F>;
  filter(equalities: { [field in F]?: any }): KUpdateOn<F>;
}
interface KDeleteOn<F extends string> extends KDeleteAction {
  filter(field: F, value: any): KDeleteOn<F>;
  filter(field: F, op: KFilterOp, value: any): KDeleteOn<F>;
  filter(equalities: { [field in F]?: any }): KDeleteOn<F>;
  forceDeleteAll(): KDeleteOn<F>;
}"""
    )
    api = ["interface KApi {"]
    if tables:
        api += [
            "  select<T extends KTableAlias>(tableAlias: T): KSelectOn<KTableFields[T]>;",
            "  insert<T extends KTableAlias>(tableAlias: T, record: { [field in KTableFields[T]]?: any }): number | KFailure;",
            "  update<T extends KTableAlias>(tableAlias: T, values: { [field in KTableFields[T]]?: any }): KUpdateOn<KTableFields[T]>;",
            "  delete<T extends KTableAlias>(tableAlias: T): KDeleteOn<KTableFields[T]>;",
        ]
    if methods:
        api.append("  callAPIMethod(title: KMethodName, params?: { [name: string]: any }): any;")
    parts.append("\n".join(api) + "\n}")
    if scripts:
        parts.append(
            f"/** This app's KScript methods (include runs their code). */\ntype KScriptName = {_union(scripts)};\n"
            "declare function include(name: KScriptName): void;"
        )
    return "\n\n".join(parts) + "\n"
